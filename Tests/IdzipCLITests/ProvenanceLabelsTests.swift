import Foundation
import IdzipCore
import Testing

/// What a trained `.idz` says about itself (producer, training settings, data set), class
/// names from `train --labels` through `info`, `eval` and `predict`, and the exact wording
/// of reports and errors (issue 17).
struct ProvenanceLabelsTests {
    static let names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    static let small = ["train", "--model", "fc:784-32-10", "--data", "mnist", "--train-fraction", "0.05", "--batch-size", "64",
                        "--data-seed", "7", "--dim", "50", "--epochs", "1"]

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func provenanceAndLabelsFromTrainToInfoEvalPredict() throws {
        let directory = try TemporaryDirectory()
        try (Self.names.joined(separator: "\n") + "\n").write(to: directory.file("names.txt"), atomically: true, encoding: .utf8)
        let train = try CommandRunner.run(Self.small + ["--labels", "names.txt", "-o", "m.idz", "--json"], in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let summary = try Self.json(train.standardOutput)
        #expect(summary["model"] as? String == "fc:784-32-10" && summary["encoding"] as? String == "float32")
        #expect(summary["data"] as? String == "mnist (0.05 of training set, seed 7)")
        #expect(summary["producer"] as? String == IdzipVersion.producer)
        #expect((summary["dataset_sha256"] as? String)?.count == 64)

        let model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        #expect(model.labels == Self.names)
        let expected: [(String, MetadataValue)] = [
            ("producer", .string("idzip \(IdzipVersion.current)")),
            ("training.optimizer", .string("adam b1=0.9 b2=0.99")),
            ("training.learning_rate", .double(0.1)),
            ("training.schedule", .string("cosine to 0.05 of the rate")),
            ("training.batch_size", .int(64)),
            ("training.l2", .double(1e-5)),
            ("training.epochs", .int(1)),
            ("dataset", .string("mnist (0.05 of training set, seed 7)")),
            ("data.variants", .string("0.05 of training set")),
            ("data.seed", .int(7)),
            ("epochs", .int(1)),
        ]
        for (key, value) in expected { #expect(model.metadata[key] == value, "\(key)") }

        let info = try CommandRunner.run(["info", "m.idz"], in: directory.url)
        #expect(info.status == 0)
        #expect(info.standardOutput.contains("labels         zero one two three four five six seven eight nine"))
        #expect(info.standardOutput.contains("  producer = idzip \(IdzipVersion.current)"))
        #expect(info.standardOutput.contains("  training.schedule = cosine to 0.05 of the rate"))
        #expect(info.standardOutput.contains("  data.variants = 0.05 of training set"))

        // info --json: the architecture layer by layer.
        let infoJSON = try Self.json(try CommandRunner.run(["info", "--json", "m.idz"], in: directory.url).standardOutput)
        let layers = try #require(infoJSON["layers"] as? [[String: Any]])
        #expect(layers.map { $0["type"] as? String } == ["dense", "relu", "dense"])
        #expect(layers.map { $0["units"] as? Int } == [32, nil, 10])
        #expect(layers.map { $0["output_shape"] as? [Int] } == [[32], [32], [10]])
        #expect(infoJSON["layer_summary"] as? String == "dense 32, relu, dense 10")

        // eval's per-class report and predict's output use the stored names.
        let eval = try CommandRunner.run(["eval", "m.idz", "--data", "mnist"], in: directory.url)
        #expect(eval.status == 0, "\(eval.standardError)")
        #expect(eval.standardOutput.contains("(10,000 examples)") && eval.standardOutput.contains("per class: zero "))
        let evalJSON = try Self.json(try CommandRunner.run(["eval", "m.idz", "--data", "mnist", "--json"], in: directory.url).standardOutput)
        #expect(Set(((evalJSON["per_class_accuracy"] as? [String: Double]) ?? [:]).keys) == Set(Self.names))
        let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("samples/digits/digit-7.png")
        let predict = try CommandRunner.run(["predict", "m.idz", digits.path], in: directory.url)
        #expect(predict.status == 0, "\(predict.standardError)")
        let words = predict.standardOutput.split(separator: " ")
        let index = try #require(Int(words[1]))
        #expect(String(words[2]) == Self.names[index], "\(predict.standardOutput)")
    }

    @Test func badLabelFilesAreOneLineNamingTheFile() throws {
        let directory = try TemporaryDirectory()
        try (Self.names.dropLast().joined(separator: "\n")).write(to: directory.file("nine.txt"), atomically: true, encoding: .utf8)
        try (Self.names.dropLast().joined(separator: "\n") + "\nzero\n").write(to: directory.file("twice.txt"), atomically: true, encoding: .utf8)
        let cases: [(String, Int32, String)] = [
            ("missing-labels.txt", 1, "cannot read missing-labels.txt: No such file or directory"),
            ("nine.txt", 1, "9 class names given, but fc:784-32-10 has 10 output classes"),
            ("twice.txt", 1, "twice.txt is not a valid data file: class 9 has the name 'zero' of class 0; class names must differ"),
        ]
        for (file, status, message) in cases {
            let result = try CommandRunner.run(Self.small + ["--labels", file, "-o", "m.idz"], in: directory.url)
            #expect(result.status == status && result.standardError == "Error: \(message)\n", "\(file): \(result.standardError)")
        }
        let toy = try CommandRunner.run(["train", "--model", "toy", "--dim", "10", "--labels", "nine.txt", "-o", "t.idz"], in: directory.url)
        #expect(toy.status == 64 && toy.standardError.contains("the toy problem has no classes"))
        #expect(directory.contents == ["nine.txt", "twice.txt"], "no model or checkpoint is written")
    }

    /// A model file missing on the command line is named in the one error line, whichever command reads it.
    @Test func missingFilesAreNamed() throws {
        let directory = try TemporaryDirectory()
        let commands: [[String]] = [
            ["info", "absent.idz"], ["eval", "absent.idz"], ["expand", "absent.idz", "-o", "w.npy"],
            ["export", "absent.idz", "--format", "onnx", "-o", "m.onnx"], ["predict", "absent.idz", "absent.png"],
            ["eval", "absent.safetensors", "--model", "fc:784-10"], ["train", "--data", "absent-dir", "--dim", "5", "-o", "m.idz"],
        ]
        for arguments in commands {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == 1 && result.standardError.contains("absent"), "\(arguments): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): one line")
        }
    }

    /// Usage errors found while a subcommand runs show that subcommand's usage, not the top level's.
    @Test func usageErrorsShowTheSubcommandsUsage() throws {
        let directory = try TemporaryDirectory()
        let create = try CommandRunner.run(["create", "--model", "fc:784-10", "--dim", "5", "-o", "m.idz"], in: directory.url)
        #expect(create.status == 0, "\(create.standardError)")
        let result = try CommandRunner.run(["eval", "m.idz", "--model", "lenet"], in: directory.url)
        #expect(result.status == 64)
        #expect(result.standardError.hasPrefix("Error: --model lenet does not match the architecture stored in m.idz\nUsage: idzip eval "),
                "\(result.standardError)")
        #expect(result.standardError.contains("See 'idzip eval --help' for more information."))
        #expect(!result.standardError.contains("<subcommand>"))
    }

    /// Counts agree with their nouns; a file larger than the weights says so; the confusion
    /// matrix's header sits over its columns.
    @Test func exactWording() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(Self.small + ["-o", "m.idz"], in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        #expect(train.standardOutput.contains("; 1 epoch in "), "\(train.standardOutput)")
        #expect(train.standardOutput.contains("x smaller than float32 weights)"))

        // A network of 10 parameters on a tiny NPY data set: the file is larger than its
        // weights, and says so (never "0.1x smaller").
        try FileManager.default.createDirectory(at: directory.file("tiny"), withIntermediateDirectories: true)
        for split in ["train", "test"] {
            try Self.npy(descr: "|u1", shape: [8, 4], body: (0..<32).map { UInt8($0 * 7 % 256) }).write(to: directory.file("tiny/\(split)_x.npy"))
            let labels: [UInt8] = (0..<8).flatMap { (index: Int) -> [UInt8] in [UInt8(index % 2), 0, 0, 0, 0, 0, 0, 0] }
            try Self.npy(descr: "<i8", shape: [8], body: labels).write(to: directory.file("tiny/\(split)_y.npy"))
        }
        let tiny = try CommandRunner.run(["train", "--model", "fc:4-2", "--data", "tiny", "--dim", "5", "--epochs", "1", "-o", "t.idz"], in: directory.url)
        #expect(tiny.status == 0, "\(tiny.standardError)")
        let comparison = try #require(tiny.standardOutput.split(separator: "\n").first { $0.hasPrefix("wrote t.idz: ") })
        #expect(comparison.range(of: #"bytes for 10 parameters \([0-9.]+x larger than float32 weights\)$"#, options: .regularExpression) != nil,
                "\(comparison)")

        let eval = try CommandRunner.run(["eval", "m.idz", "--data", "mnist", "--confusion"], in: directory.url)
        #expect(eval.status == 0)
        let lines = eval.standardOutput.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("confusion") })
        func ends(_ line: String) -> [Int] {
            // Where each right-aligned column ends (the first token of a row is its name).
            var result: [Int] = []
            var previous: Character = " "
            for (offset, character) in line.enumerated() {
                if character == " " && previous != " " { result.append(offset) }
                previous = character
            }
            if previous != " " { result.append(line.count) }
            return result
        }
        let header = ends(lines[start + 1])
        #expect(header.count == 10)
        for row in lines[(start + 2)...(start + 11)] {
            #expect(Array(ends(row).dropFirst()) == header, "\(lines[start + 1])\n\(row)")
        }

        // A search's headline has no "0 done, 0 to run"; counts of one are singular.
        let search = try CommandRunner.run(["sweep", "--model", "toy", "--search", "1-16", "--out", "s"], in: directory.url)
        #expect(search.status == 0, "\(search.standardError)")
        let headline = search.standardError.split(separator: "\n").first.map(String.init) ?? ""
        #expect(!headline.contains("0 done") && headline.contains("with 1 seed per d") && headline.hasSuffix("; no finished runs yet"), "\(headline)")
        #expect(search.standardOutput.contains("(1 run)") && !search.standardOutput.contains("(1 runs)"))
        let again = try CommandRunner.run(["sweep", "--model", "toy", "--search", "1-16", "--out", "s"], in: directory.url)
        #expect(again.standardError.contains("8 finished runs in the directory, reused where the search needs them"), "\(again.standardError)")
    }

    /// A version 1.0 .npy file: magic, header dict padded to 64 bytes, then `body`.
    static func npy(descr: String, shape: [Int], body: [UInt8]) -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: body)
        return data
    }
}
