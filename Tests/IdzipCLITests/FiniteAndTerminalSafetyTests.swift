import Foundation
import IdzipCore
import Testing

/// Small data sets and crafted files on disk, for the probes below.
enum ProbeFiles {
    /// An NPY file (version 1.0) with `header` as its dictionary literal.
    static func npy(header: String, body: [UInt8]) -> [UInt8] {
        var text = Array(header.utf8)
        let padded = (10 + text.count + 1 + 63) / 64 * 64
        text += [UInt8](repeating: UInt8(ascii: " "), count: padded - 10 - text.count - 1) + [UInt8(ascii: "\n")]
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + body
    }

    static func npy(descr: String, shape: [Int], body: [UInt8]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        return npy(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }", body: body)
    }

    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    static func int64s(_ values: [Int64]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }

    /// A directory of train/test NPY files with 4 features and 2 classes: 8 training and
    /// `testCount` test examples; `edit` may change the test (or training) features.
    static func dataset(
        in directory: URL, name: String = "data", testCount: Int = 4, classes: String? = nil,
        trainFeature: (Int) -> Float = { Float($0 % 5) / 5 }, testFeature: (Int) -> Float = { Float($0 % 3) / 3 }
    ) throws -> URL {
        let folder = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func write(_ file: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: folder.appendingPathComponent(file)) }
        try write("train_x.npy", npy(descr: "<f4", shape: [8, 4], body: floats((0..<32).map(trainFeature))))
        try write("train_y.npy", npy(descr: "<i8", shape: [8], body: int64s((0..<8).map { Int64($0 % 2) })))
        try write("test_x.npy", npy(descr: "<f4", shape: [testCount, 4], body: floats((0..<(4 * testCount)).map(testFeature))))
        try write("test_y.npy", npy(descr: "<i8", shape: [testCount], body: int64s((0..<testCount).map { Int64($0 % 2) })))
        if let classes { try Data(classes.utf8).write(to: folder.appendingPathComponent("classes.txt")) }
        return folder
    }

    /// A safetensors file of fc:4-2 weights whose metadata names `architecture`.
    static func safetensors(architecture: String) throws -> [UInt8] {
        let metadata = try JSONSerialization.data(withJSONObject: ["idzip.architecture": architecture])
        let header = "{\"__metadata__\":\(String(decoding: metadata, as: UTF8.self)),"
            + "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,32]},"
            + "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]}}"
        let json = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + floats((0..<10).map { Float($0) / 10 })
    }

    /// A valid .idz of fc:4-2 with these metadata entries and labels.
    static func model(metadata: [MetadataEntry], labels: [String] = []) throws -> [UInt8] {
        let architecture = Architecture(inputShape: [4], layers: [.dense(units: 2)])
        var model = IdzModel(
            architecture: architecture, theta0Seed: 1, projection: ProjectionSpec(kind: .dense, seed: 2, dimension: 3),
            theta: StoredTheta.encode([0.1, -0.2, 0.3], as: .float32), preprocessing: Preprocessing(inputScale: 1),
            labels: labels, metadata: metadata, weightsSHA256: [UInt8](repeating: 0, count: 32))
        model.weightsSHA256 = try ModelExpansion.digest(of: model, threads: 1)
        return try IdzFile.encode(model)
    }

    /// No escape, bell or other control character but the newline.
    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }
    }
}

/// Section 3 of issue 10: numbers that are not numbers (the finite-value policy).
struct FiniteValueProbeTests {
    static let train = ["train", "--model", "fc:4-3-2", "--data", "data", "--batch-size", "4", "--threads", "1"]

    @Test func nanOrInfinityInTestFeaturesIsRefusedLikeInTrainingFeatures() throws {
        for (name, bad) in [("nan", Float.nan), ("inf", Float.infinity)] {
            let directory = try TemporaryDirectory()
            _ = try ProbeFiles.dataset(in: directory.url, testFeature: { $0 == 6 ? bad : 0.5 })
            let result = try CommandRunner.run(Self.train + ["--epochs", "1", "-o", "m.safetensors"], in: directory.url)
            #expect(result.status == 1, "\(name): \(result.standardError)")
            #expect(result.standardError.contains("test_x.npy") && result.standardError.contains("example 1"), "\(result.standardError)")
            #expect(!result.standardError.contains("learning rate"), "bad data is not blamed on the learning rate")
            #expect(directory.contents == ["data"], "no model, no checkpoint")
        }
    }

    /// Finite weights whose logits overflow float32: eval and predict refuse in one line
    /// (exit 1) instead of printing p=-nan or loss nan with exit 0.
    @Test func overflowingLogitsAreRefusedNotPrintedAsNaN() throws {
        let directory = try TemporaryDirectory()
        try MemoryBudgetCommandTests.writeData("data", in: directory)
        try Data(Array("P5\n28 28\n255\n".utf8) + [UInt8](repeating: 200, count: 784)).write(to: directory.file("x.pgm"))
        let create = try CommandRunner.run(
            ["create", "--model", "fc:784-16-10", "--dim", "5", "--theta-scale", "1e25", "-o", "m.idz"], in: directory.url)
        #expect(create.status == 0, "\(create.standardError)")
        for (arguments, fragment) in [
            (["eval", "m.idz", "--data", "data"], "m.idz: the network's outputs are not finite on the test set"),
            (["eval", "m.idz", "--data", "data", "--json"], "m.idz: the network's outputs are not finite on the test set"),
            (["predict", "m.idz", "x.pgm"], "x.pgm: the network's outputs are not finite"),
            (["predict", "m.idz", "x.pgm", "x.pgm", "--json"], "x.pgm: the network's outputs are not finite"),
        ] {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == 1, "\(arguments): \(result.status) \(result.standardOutput) \(result.standardError)")
            #expect(result.standardOutput.isEmpty && result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(fragment), "\(arguments): \(result.standardError)")
            #expect(!result.standardError.lowercased().contains("nan,") && !result.standardOutput.contains("nan"))
        }
    }

    @Test func nanInTrainingFeaturesIsBadDataNotDivergence() throws {
        let directory = try TemporaryDirectory()
        _ = try ProbeFiles.dataset(in: directory.url, trainFeature: { $0 == 9 ? .nan : 0.5 })
        let result = try CommandRunner.run(Self.train + ["--dim", "3", "--epochs", "1", "-o", "m.idz"], in: directory.url)
        #expect(result.status == 1)
        #expect(result.standardError.contains("train_x.npy") && result.standardError.contains("nan"), "\(result.standardError)")
        #expect(!result.standardError.contains("diverged") && !result.standardError.contains("learning rate"), "\(result.standardError)")
        #expect(directory.contents == ["data"])
    }

    /// `--learning-rate 1e30`: the run is a failed job, with no model written, with or without --json.
    @Test func divergedRunWritesNoModel() throws {
        for (extra, output) in [(["--dim", "5"], "m.idz"), (["--dim", "5", "--json"], "m.idz"), (["--dim", "7", "--projection", "dense"], "m.idz")] {
            let directory = try TemporaryDirectory()
            _ = try ProbeFiles.dataset(in: directory.url)
            let result = try CommandRunner.run(
                Self.train + extra + ["--epochs", "1", "--learning-rate", "1e30", "--optimizer", "sgd", "-o", output], in: directory.url)
            #expect(result.status == 1, "\(extra): \(result.standardOutput) \(result.standardError)")
            #expect(result.standardError.contains("training diverged") && result.standardError.contains("no model written"), "\(result.standardError)")
            if extra.contains("--json") { #expect(result.standardOutput.isEmpty, "no JSON for a failed job") }
            #expect(directory.contents == ["data"], "\(extra): \(directory.contents)")
        }
    }

    @Test func divergedToyRunWritesNoModel() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(
            ["train", "--model", "toy", "--dim", "10", "--epochs", "1", "--learning-rate", "1e38", "--optimizer", "sgd", "-o", "toy.idz"],
            in: directory.url)
        #expect(result.status == 1, "\(result.standardOutput) \(result.standardError)")
        #expect(result.standardError.contains("training diverged"), "\(result.standardError)")
        #expect(directory.contents.isEmpty)
    }

    /// A diverged run is recorded as failed; the sweep goes on and finishes.
    @Test func divergedSweepRunIsRecordedAsFailed() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(
            ["sweep", "--model", "toy", "--dims", "2,3", "--epochs", "1", "--learning-rate", "1e38", "--optimizer", "sgd", "--out", "s", "--json"],
            in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("failed: training diverged"), "\(result.standardError)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: directory.file("s/results.json"))) as? [[String: Any]])
        #expect(records.count == 2 && records.allSatisfy { ($0["failure"] as? String)?.contains("diverged") == true })
        #expect(records.allSatisfy { $0["performance"] as? Double == 0 })
        let models = (try? FileManager.default.contentsOfDirectory(atPath: directory.file("s/models").path)) ?? []
        #expect(models.isEmpty, "a failed run writes no model: \(models)")
        // Resuming does not re-run the failed runs.
        let again = try CommandRunner.run(
            ["sweep", "--model", "toy", "--dims", "2,3", "--epochs", "1", "--learning-rate", "1e38", "--optimizer", "sgd", "--out", "s"],
            in: directory.url)
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardError.contains("2 done, 0 to run"), "\(again.standardError)")
    }

    /// Metadata doubles may be NaN or infinite (spec 4.9): `info --json` prints null.
    @Test func infoJSONPrintsNonFiniteMetadataAsNull() throws {
        let directory = try TemporaryDirectory()
        try Data(ProbeFiles.model(metadata: [
            MetadataEntry(key: "loss", value: .double(.nan)),
            MetadataEntry(key: "best", value: .double(.infinity)),
            MetadataEntry(key: "worst", value: .double(-.infinity)),
            MetadataEntry(key: "fine", value: .double(0.5)),
        ])).write(to: directory.file("m.idz"))
        let result = try CommandRunner.run(["info", "m.idz", "--json"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let metadata = try #require(report["metadata"] as? [String: Any])
        #expect(metadata["loss"] is NSNull && metadata["best"] is NSNull && metadata["worst"] is NSNull)
        #expect(metadata["fine"] as? Double == 0.5)
        let text = try CommandRunner.run(["info", "m.idz"], in: directory.url)
        #expect(text.status == 0 && text.standardOutput.contains("loss = nan"), "\(text.standardOutput)")
    }

    @Test func emptyTestSetIsAnError() throws {
        let directory = try TemporaryDirectory()
        _ = try ProbeFiles.dataset(in: directory.url, testCount: 0)
        try Data(ProbeFiles.model(metadata: [])).write(to: directory.file("m.idz"))
        for arguments in [Self.train + ["--epochs", "1", "-o", "out.safetensors"], ["eval", "m.idz", "--data", "data"]] {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == 1, "\(arguments): \(result.standardOutput)")
            #expect(result.standardError.contains("the test set has no examples"), "\(result.standardError)")
            #expect(!result.standardOutput.contains("0.00%"))
        }
        #expect(directory.contents == ["data", "m.idz"])
    }

    @Test func float16OutOfRangeNamesTheValue() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(
            ["create", "--model", "fc:4-2", "--dim", "5", "--encoding", "float16", "--theta-scale", "1e6", "-o", "m.idz"], in: directory.url)
        #expect(result.status == 1)
        #expect(result.standardError.contains("out of float16's range"), "\(result.standardError)")
        #expect(!result.standardError.contains("not finite"))
        #expect(directory.contents.isEmpty)
    }
}

/// Section 4 of issue 10: text from files is data, not terminal control.
struct TerminalTextProbeTests {
    static let hostile = "x\u{1B}[2J\u{1B}]0;owned\u{07}\nweights        sha256 0000"

    @Test func evalEscapesClassNamesPathsAndData() throws {
        let directory = try TemporaryDirectory()
        let name = "d\u{1B}]0;title\u{07}"
        _ = try ProbeFiles.dataset(in: directory.url, name: name, classes: "cat\u{1B}[31m\nd\u{9B}og\n")
        try Data(ProbeFiles.model(metadata: [])).write(to: directory.file("m.idz"))
        for extra in [[], ["--confusion"]] {
            let result = try CommandRunner.run(["eval", "m.idz", "--data", name] + extra, in: directory.url)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(!ProbeFiles.hasControlCharacters(result.standardOutput + result.standardError), "\(result.standardOutput)")
            #expect(result.standardOutput.contains("\\u{1b}"))
        }
        // JSON escapes control characters itself and keeps the names as they are.
        let json = try CommandRunner.run(["eval", "m.idz", "--data", name, "--json"], in: directory.url)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect((report["per_class_accuracy"] as? [String: Any])?.keys.contains("cat\u{1B}[31m") == true)
    }

    @Test func trainProgressEscapesTheDataPath() throws {
        let directory = try TemporaryDirectory()
        let name = "d\u{1B}]0;title\u{07}"
        _ = try ProbeFiles.dataset(in: directory.url, name: name)
        let result = try CommandRunner.run(
            ["train", "--model", "fc:4-2", "--data", name, "--epochs", "1", "--batch-size", "4", "-o", "m.safetensors"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(!ProbeFiles.hasControlCharacters(result.standardOutput + result.standardError.replacingOccurrences(of: "\r", with: "")))
    }

    @Test func duplicateClassNamesAreRefusedAtLoad() throws {
        let directory = try TemporaryDirectory()
        _ = try ProbeFiles.dataset(in: directory.url, classes: "cat\ncat\n")
        try Data(ProbeFiles.model(metadata: [])).write(to: directory.file("m.idz"))
        for arguments in [["eval", "m.idz", "--data", "data"], ["eval", "m.idz", "--data", "data", "--json"],
                          ["train", "--model", "fc:4-2", "--data", "data", "--epochs", "1", "-o", "o.safetensors"]] {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
            #expect(result.standardError.contains("classes.txt") && result.standardError.contains("both named 'cat'"), "\(result.standardError)")
        }
        #expect(directory.contents == ["data", "m.idz"])
    }

    @Test func duplicateCIFARClassNamesAreRefused() throws {
        let directory = try TemporaryDirectory()
        let folder = directory.file("cifar")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let record = [UInt8](repeating: 0, count: 1 + 3072)
        for file in ["data_batch_1.bin", "test_batch.bin"] { try Data(record + record).write(to: folder.appendingPathComponent(file)) }
        try Data("a\nb\nc\nd\ne\nf\ng\nh\ni\na\n".utf8).write(to: folder.appendingPathComponent("batches.meta.txt"))
        let result = try CommandRunner.run(
            ["train", "--model", "lenet:3x32x32", "--data", "cifar", "--epochs", "1", "-o", "o.safetensors"], in: directory.url)
        #expect(result.status == 1)
        #expect(result.standardError.contains("batches.meta.txt") && result.standardError.contains("both named 'a'"), "\(result.standardError)")
    }

    /// A crafted architecture string in safetensors metadata: a bad file (exit 1, one escaped line, no usage).
    @Test func badArchitectureInsideAFileIsABadFile() throws {
        let directory = try TemporaryDirectory()
        _ = try ProbeFiles.dataset(in: directory.url)
        try Data(ProbeFiles.safetensors(architecture: "fc:4-\u{1B}[2J" + Self.hostile)).write(to: directory.file("w.safetensors"))
        let result = try CommandRunner.run(["eval", "w.safetensors", "--data", "data"], in: directory.url)
        #expect(result.status == 1, "\(result.standardError)")
        #expect(!result.standardError.contains("Usage"))
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        #expect(!ProbeFiles.hasControlCharacters(result.standardError))
        // The same in a .idz: an architecture that breaks section 6.
        let idz = try Data(contentsOf: CheckoutFiles.url("Formats/hostile/dense-on-image.idz"))
        try idz.write(to: directory.file("bad.idz"))
        for command in [["eval", "bad.idz", "--data", "data"], ["info", "bad.idz"], ["expand", "bad.idz", "-o", "w.npy"]] {
            let bad = try CommandRunner.run(command, in: directory.url)
            #expect(bad.status == 1 && !bad.standardError.contains("Usage"), "\(command): \(bad.standardError)")
        }
    }

    /// Metadata, labels and errors that embed them: nothing clears the screen, sets the
    /// title or forges a `weights sha256` line.
    @Test func craftedModelCannotControlTheTerminal() throws {
        let directory = try TemporaryDirectory()
        try Data(ProbeFiles.model(metadata: [
            MetadataEntry(key: Self.hostile, value: .string(Self.hostile)),
        ], labels: [Self.hostile, "b"])).write(to: directory.file("m.idz"))
        let info = try CommandRunner.run(["info", "m.idz"], in: directory.url)
        #expect(info.status == 0)
        #expect(!ProbeFiles.hasControlCharacters(info.standardOutput))
        #expect(info.standardOutput.split(separator: "\n").filter { $0.hasPrefix("weights") }.count == 1, "\(info.standardOutput)")
        _ = try ProbeFiles.dataset(in: directory.url)
        let predict = try CommandRunner.run(["predict", "m.idz", "data/test_x.npy"], in: directory.url)
        #expect(!ProbeFiles.hasControlCharacters(predict.standardOutput + predict.standardError), "\(predict.standardOutput)")
        // An error that quotes a file's text: labels that do not match the outputs.
        try Data(ProbeFiles.model(metadata: [], labels: [Self.hostile, "b"])).write(to: directory.file("n.idz"))
        let eval = try CommandRunner.run(["eval", "n.idz", "--data", "data", "--confusion"], in: directory.url)
        #expect(!ProbeFiles.hasControlCharacters(eval.standardOutput + eval.standardError), "\(eval.standardOutput)")
    }

    @Test func duplicateNPYHeaderKeysAreRefused() throws {
        let directory = try TemporaryDirectory()
        let folder = try ProbeFiles.dataset(in: directory.url)
        // numpy would read the last 'descr' (<f4 bytes as uint8 is a parser differential).
        let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 4), 'descr': '<f4', }"
        try Data(ProbeFiles.npy(header: header, body: ProbeFiles.floats((0..<16).map { Float($0) }))).write(to: folder.appendingPathComponent("test_x.npy"))
        try Data(ProbeFiles.model(metadata: [])).write(to: directory.file("m.idz"))
        for arguments in [["eval", "m.idz", "--data", "data"], ["predict", "m.idz", "data/test_x.npy"]] {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == 1, "\(arguments): \(result.standardOutput)")
            #expect(result.standardError.contains("names 'descr' twice"), "\(result.standardError)")
        }
    }

    @Test func duplicateSafetensorsTensorNamesAreRefused() throws {
        let directory = try TemporaryDirectory()
        _ = try ProbeFiles.dataset(in: directory.url)
        let file = CheckoutFiles.url("Tests/IdzipCoreTests/Fixtures/hostile-safetensors/duplicate-tensor-name.safetensors")
        try Data(contentsOf: file).write(to: directory.file("d.safetensors"))
        let result = try CommandRunner.run(["eval", "d.safetensors", "--model", "fc:4-2", "--data", "data"], in: directory.url)
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.contains("twice") || result.standardError.contains("duplicate"), "\(result.standardError)")
    }
}

/// Files of the source checkout, found from this file's path.
enum CheckoutFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }
}
