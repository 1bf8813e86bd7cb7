import Foundation
import Testing

/// Typed arguments: wrong values are refused with the reason and the subcommand's usage
/// (exit 64); a bad file is a failed job (exit 1), not a command-line error.
struct ArgumentTests {
    func run(_ arguments: [String], in directory: TemporaryDirectory) throws -> CommandRunner.Result {
        try CommandRunner.run(arguments, in: directory.url)
    }

    @Test func sweepOptionsSayWhatIsWrong() throws {
        let directory = try TemporaryDirectory()
        let cases: [([String], String)] = [
            (["--dims", "5-3"], "--dims must be a comma-separated list"),
            (["--dims", "0"], "--dims must be a comma-separated list"),
            (["--search", "5-3"], "--search must be a range LOW-HIGH"),
            (["--dims", "8", "--shard", "0/2"], "--shard must be i/n"),
            (["--dims", "8", "--baseline", "foo"], "--baseline must be a positive number or 'local'"),
            (["--dims", "8", "--baseline", "0"], "--baseline must be a positive number or 'local'"),
            (["--dims", "8", "--projection", "identity"], "--projection must be dense, sparse or fastfood"),
            (["--dims", "8", "--projection", "3"], "'3' is not a projection; use identity, dense, sparse, fastfood"),
            (["--dims", "8", "--learning-rate", "0"], "learning rate must be positive"),
        ]
        for (options, message) in cases {
            let result = try run(["sweep", "--model", "toy", "--out", "s"] + options, in: directory)
            #expect(result.status == 64, "\(options): \(result.standardError)")
            #expect(result.standardError.contains(message), "\(options): \(result.standardError)")
        }
        #expect(!directory.contents.contains("s"), "nothing is created for a refused command line")
    }

    @Test func trainingSettingsAreCheckedWithTheSubcommandsUsage() throws {
        let directory = try TemporaryDirectory()
        let result = try run(["train", "--model", "toy", "--dim", "10", "--beta1", "2", "-o", "t.idz"], in: directory)
        #expect(result.status == 64 && result.standardError.contains("Usage: idzip train"), "\(result.standardError)")
        let create = try run(["create", "--model", "toy", "--dim", "10", "-o", "c.safetensors"], in: directory)
        #expect(create.status == 64 && create.standardError.contains("create writes a .idz file"), "\(create.standardError)")
    }

    /// A negative number given to an option is read as its value and refused by the
    /// option's own check, not as a missing value followed by an unknown option.
    @Test func negativeNumbersAreValuesOfTheirOptions() throws {
        let directory = try TemporaryDirectory()
        let cases: [([String], String)] = [
            (["train", "--model", "toy", "--epochs", "-5", "-o", "t.idz"], "--epochs must be at least 0"),
            (["train", "--model", "toy", "--learning-rate", "-0.1", "-o", "t.idz"], "learning rate must be positive, got -0.1"),
            (["train", "--model", "toy", "--seed", "-1", "-o", "t.idz"], "'-1' is invalid for '--seed <seed>'"),
            (["eval", "m.idz", "--threads", "-2"], "--threads must be between 1 and 256"),
            (["predict", "m.idz", "x.pgm", "--top", "-3"], "--top must be at least 1"),
            (["sweep", "--model", "toy", "--dims", "8", "--runs", "-1e3", "--out", "s"], "'-1e3' is invalid for '--runs <runs>'"),
            (["train", "--model", "toy", "--std", "-1,2", "-o", "t.idz"], "--std must be positive"),
            (["train", "--model", "toy", "--mean", "-0.5,0.5", "--std", "1", "-o", "t.idz"], "--mean has 2 values but --std 1"),
        ]
        for (arguments, message) in cases {
            let result = try run(arguments, in: directory)
            #expect(result.status == 64, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
            #expect(!result.standardError.contains("Missing value"), "\(arguments): \(result.standardError)")
        }
        // A negative number after a flag (which takes no value) is still refused.
        let flag = try run(["info", "--json", "-5"], in: directory)
        #expect(flag.status == 64, "\(flag.standardError)")
        #expect(directory.contents.isEmpty)
    }

    @Test func identityProjectionWithoutDimensionIsDirectTraining() throws {
        let directory = try TemporaryDirectory()
        let direct = try run(["train", "--model", "toy", "--projection", "identity", "--epochs", "100", "-o", "t.idz"], in: directory)
        #expect(direct.status == 0, "\(direct.standardError)")
        let withDimension = try run(["train", "--model", "toy", "--projection", "identity", "--dim", "5", "-o", "u.idz"], in: directory)
        #expect(withDimension.status == 64 && withDimension.standardError.contains("for direct training leave out --dim"))
        let resumed = try run(["train", "--model", "toy", "--dim", "10", "--epochs", "100", "--resume", "-o", "v.idz"], in: directory)
        #expect(resumed.status == 0 && resumed.standardOutput.contains("keeps no checkpoints"), "\(resumed.standardError)")
    }

    /// A safetensors file naming an architecture that does not parse.
    @Test func badArchitectureInsideAFileIsABadFile() throws {
        let directory = try TemporaryDirectory()
        var header = Array(#"{"__metadata__":{"idzip.architecture":"garbage"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        bytes += [0, 0, 0, 0]
        try Data(bytes).write(to: directory.file("w.safetensors"))
        let result = try run(["eval", "w.safetensors"], in: directory)
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.contains("w.safetensors") && !result.standardError.contains("Usage"), "\(result.standardError)")
    }
}
