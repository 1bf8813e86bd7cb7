import Foundation
import IdzipCore
import Testing

/// Issue 10, section 6: what the file and the tool say must be true.
struct RecordedFactsTests {
    static let small = ["train", "--model", "fc:784-32-10", "--train-fraction", "0.05", "--batch-size", "64", "--epochs", "1"]

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// A float32 .npy data set (MNIST pixels as floats) in `directory/name`.
    static func npyData(in directory: TemporaryDirectory, name: String, testOffset: Float = 0, poison: Bool = false) throws {
        let folder = directory.file(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func npy(_ descr: String, shape: [Int], body: [UInt8]) -> Data {
            let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let length = header.utf8.count
            return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + body)
        }
        for (kind, count, offset) in [("train", 600, Float(0)), ("test", 300, testOffset)] {
            var features: [UInt8] = []
            var labels: [UInt8] = []
            for example in 0..<count {
                let label = example % 10
                labels.append(UInt8(label))
                for pixel in 0..<784 {
                    var value = Float((pixel * 7 + label * 31) % 256) / 255 * (pixel % 10 == label ? 1 : 0.2) + offset
                    if poison, kind == "train", example == 5, pixel == 3 { value = .nan }
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { features.append(contentsOf: $0) }
                }
            }
            try npy("<f4", shape: [count, 784], body: features).write(to: folder.appendingPathComponent("\(kind)_x.npy"))
            try npy("|u1", shape: [count], body: labels).write(to: folder.appendingPathComponent("\(kind)_y.npy"))
        }
    }

    /// Without --data, eval uses the data set the model records and says so; it does not
    /// default silently to MNIST. Another data set than the recorded one is reported.
    @Test func evalUsesTheRecordedDataSet() throws {
        let directory = try TemporaryDirectory()
        try Self.npyData(in: directory, name: "own")
        let train = try CommandRunner.run(
            ["train", "--model", "fc:784-32-10", "--data", "own", "--epochs", "1", "--dim", "100", "-o", "m.idz", "--json"], in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let recorded = try #require(try Self.json(train.standardOutput)["test_accuracy"] as? Double)

        let eval = try CommandRunner.run(["eval", "m.idz", "--json"], in: directory.url)
        #expect(eval.status == 0, "\(eval.standardError)")
        #expect(eval.standardError.contains("evaluating on own, the data set m.idz records"), "\(eval.standardError)")
        let report = try Self.json(eval.standardOutput)
        #expect(report["data"] as? String == "own" && report["examples"] as? Int == 300)
        #expect(report["accuracy"] as? Double == recorded)
        #expect(!eval.standardError.contains("warning"))

        // The same name with other contents: evaluated, and the digest mismatch reported.
        try FileManager.default.removeItem(at: directory.file("own"))
        try Self.npyData(in: directory, name: "own", testOffset: 0.25)
        let changed = try CommandRunner.run(["eval", "m.idz"], in: directory.url)
        #expect(changed.status == 0, "\(changed.standardError)")
        #expect(changed.standardError.contains("warning: own has sha256"), "\(changed.standardError)")
        #expect(changed.standardError.contains("records sha256"), "\(changed.standardError)")
        // --data chooses explicitly and is not announced; a mismatch still is.
        let explicit = try CommandRunner.run(["eval", "m.idz", "--data", "mnist"], in: directory.url)
        #expect(explicit.status == 0 && !explicit.standardError.contains("evaluating on"), "\(explicit.standardError)")
        #expect(explicit.standardError.contains("warning: mnist has sha256"), "\(explicit.standardError)")
    }

    /// A model trained on a fraction of MNIST records the digest of that variant: `eval
    /// --data mnist` is the same data set, said so with the part evaluated, not "not the
    /// same data"; another variant (shuffled labels) is still reported as other data.
    @Test func theDataSetOfAFractionIsTheSameDataSet() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(Self.small + ["--data", "mnist", "--dim", "50", "-o", "m.idz"], in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        for (split, part) in [("test", "its whole test set"), ("train", "its whole training set, beyond the part trained on")] {
            let eval = try CommandRunner.run(["eval", "m.idz", "--data", "mnist", "--split", split], in: directory.url)
            #expect(eval.status == 0, "\(eval.standardError)")
            #expect(!eval.standardError.contains("warning"), "\(eval.standardError)")
            #expect(eval.standardError.contains("mnist is the data set m.idz was trained on (mnist (0.05 of training set, seed 0)); evaluating \(part)"),
                "\(eval.standardError)")
        }
        let other = try CommandRunner.run(["eval", "m.idz", "--data", "mnist", "--shuffle-labels"], in: directory.url)
        #expect(other.status == 0 && other.standardError.contains("not the same data"), "\(other.standardError)")
    }

    /// Expanded weights carry the architecture, the preprocessing and the data set, so eval
    /// needs no --model for safetensors or .npy (with its sidecar).
    @Test func expandedWeightsEvaluateWithoutModel() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(
            Self.small + ["--data", "mnist", "--dim", "200", "--scale", "0.004", "--mean", "0.1", "--std", "0.3", "-o", "m.idz", "--json"],
            in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        #expect(model.preprocessing == Preprocessing(inputScale: 0.004, mean: [0.1], standardDeviation: [0.3]), "recorded exactly")
        let info = try Self.json(try CommandRunner.run(["info", "m.idz", "--json"], in: directory.url).standardOutput)
        let shown = try #require(info["preprocessing"] as? [String: Any])
        #expect((shown["input_scale"] as? Double).map(Float.init) == 0.004)

        let reference = try CommandRunner.run(["eval", "m.idz", "--json"], in: directory.url)
        #expect(reference.status == 0, "\(reference.standardError)")
        let accuracy = try #require(try Self.json(reference.standardOutput)["accuracy"] as? Double)
        for name in ["w.safetensors", "w.npy"] {
            let expand = try CommandRunner.run(["expand", "m.idz", "-o", name], in: directory.url)
            #expect(expand.status == 0, "\(expand.standardError)")
            let eval = try CommandRunner.run(["eval", name, "--json"], in: directory.url)
            #expect(eval.status == 0, "\(name): \(eval.standardError)")
            #expect(try Self.json(eval.standardOutput)["accuracy"] as? Double == accuracy, "\(name)")
            #expect(eval.standardError.contains("evaluating on mnist (0.05 of training set, seed 0), the data set \(name) records"),
                    "\(eval.standardError)")
        }
        let sidecar = try Self.json(String(contentsOf: directory.file("w.npy.json"), encoding: .utf8))
        #expect(sidecar["architecture"] as? String == "fc:784-32-10" && sidecar["parameters"] as? Int == 25_450)
        #expect(sidecar["weights_sha256"] as? String == model.weightsSHA256.map { String(format: "%02x", $0) }.joined())
        let file = try SafetensorsFile(contentsOf: directory.file("w.safetensors"))
        #expect(file.metadata["idzip.preprocessing"] == "{\"input_scale\": 0.004, \"mean\": [0.1], \"std\": [0.3]}")

        // Without the sidecar, a .npy needs --model.
        try FileManager.default.removeItem(at: directory.file("w.npy.json"))
        let bare = try CommandRunner.run(["eval", "w.npy", "--data", "mnist"], in: directory.url)
        #expect(bare.status == 64 && bare.standardError.contains("--model"), "\(bare.standardError)")
        let named = try CommandRunner.run(["eval", "w.npy", "--data", "mnist", "--model", "fc:784-32-10"], in: directory.url)
        #expect(named.status == 0, "\(named.standardError)")
    }

    @Test func preprocessingOptionsAreChecked() throws {
        let directory = try TemporaryDirectory()
        for (extra, needle) in [
            (["--std", "0"], "--std must be positive"),
            (["--mean", "0.1,0.2", "--std", "1"], "--mean has 2 values but --std 1"),
            (["--mean", "0.1,0.2", "--std", "1,1"], "one per channel"),
            (["--scale", "nan"], "finite"),
        ] {
            let result = try CommandRunner.run(Self.small + ["--data", "mnist", "--dim", "10", "-o", "m.idz"] + extra, in: directory.url)
            #expect(result.status != 0 && result.standardError.contains(needle), "\(extra): \(result.standardError)")
        }
    }

    /// --validation-fraction holds out part of the training set: the run's decisions use it
    /// and every report says so, with the test accuracy beside it.
    @Test func validationSplitIsReported() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(
            Self.small + ["--data", "mnist", "--dim", "200", "--validation-fraction", "0.2", "-o", "m.idz", "--json"], in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let summary = try Self.json(train.standardOutput)
        let validation = try #require(summary["validation_accuracy"] as? Double)
        #expect(validation > 0.3 && (summary["selected_on"] as? String)?.hasPrefix("validation set (0.2 of the training set") == true)
        let model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        guard case .double(let stored) = model.metadata["validation.accuracy"] else { Issue.record("no validation.accuracy"); return }
        #expect(abs(stored - validation) < 1e-12)
        #expect(model.metadata["dataset"] == .string("mnist (0.05 of training set, 0.2 held out for validation, seed 0)"))
        let plain = try CommandRunner.run(Self.small + ["--data", "mnist", "--dim", "200", "-o", "p.idz", "--json"], in: directory.url)
        let plainSummary = try Self.json(plain.standardOutput)
        #expect(plainSummary["validation_accuracy"] == nil && (plainSummary["selected_on"] as? String)?.hasPrefix("test set") == true)

        let sweep = try CommandRunner.run(
            ["sweep", "--model", "fc:784-32-10", "--data", "mnist", "--train-fraction", "0.05", "--validation-fraction", "0.2",
             "--epochs", "2", "--dims", "200", "--threshold", "0.5", "--out", "s", "--json"], in: directory.url)
        #expect(sweep.status == 0, "\(sweep.standardError)")
        let report = try Self.json(sweep.standardOutput)
        #expect((report["selected_on"] as? String)?.hasPrefix("validation set") == true)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: directory.file("s/results.json"))) as? [[String: Any]])
        #expect(rows.first?["test_accuracy"] is Double, "\(rows)")
        let page = try String(contentsOf: directory.file("s/index.html"), encoding: .utf8)
        #expect(page.contains("performance measured on") && page.contains("validation set"))
    }

    /// A sweep given another --threshold on an existing directory says so: refused, naming
    /// the old and the new value, when runs there stopped early against the old level.
    @Test func changedThresholdIsNamed() throws {
        let directory = try TemporaryDirectory()
        let arguments = ["sweep", "--model", "fc:784-32-10", "--data", "mnist", "--train-fraction", "0.1", "--epochs", "4",
                         "--dims", "400", "--out", "s"]
        let first = try CommandRunner.run(arguments + ["--threshold", "0.5"], in: directory.url)
        #expect(first.status == 0, "\(first.standardError)")
        let changed = try CommandRunner.run(arguments + ["--threshold", "0.6"], in: directory.url)
        #expect(changed.status == 1, "\(changed.standardError)")
        #expect(changed.standardError.contains("--threshold 0.5") && changed.standardError.contains("--threshold 0.6"),
                "\(changed.standardError)")
        // Trained out, runs are re-judged openly.
        let full = arguments.map { $0 == "s" ? "f" : $0 } + ["--no-early-stop"]
        #expect(try CommandRunner.run(full + ["--threshold", "0.5"], in: directory.url).status == 0)
        let rejudged = try CommandRunner.run(full + ["--threshold", "0.6"], in: directory.url)
        #expect(rejudged.status == 0, "\(rejudged.standardError)")
        #expect(rejudged.standardError.contains("--threshold changed from 0.5 to 0.6"), "\(rejudged.standardError)")
        // Any other changed setting is named with its old and new value.
        let epochs = try CommandRunner.run(full.map { $0 == "4" ? "3" : $0 } + ["--threshold", "0.6"], in: directory.url)
        #expect(epochs.status == 1 && epochs.standardError.contains("epochs=4") && epochs.standardError.contains("epochs=3"),
                "\(epochs.standardError)")
    }

    /// Wording: one epoch is "1 epoch"; a NaN in the data is named as such, not blamed on the learning rate.
    @Test func wordingIsTrue() throws {
        let directory = try TemporaryDirectory()
        let direct = try CommandRunner.run(Self.small + ["--data", "mnist", "-o", "d.idz"], in: directory.url)
        #expect(direct.status == 0, "\(direct.standardError)")
        #expect(direct.standardOutput.contains("; 1 epoch in "), "\(direct.standardOutput)")
        try Self.npyData(in: directory, name: "poisoned", poison: true)
        let poisoned = try CommandRunner.run(["train", "--model", "fc:784-32-10", "--data", "poisoned", "--dim", "10", "-o", "m.idz"],
                                             in: directory.url)
        #expect(poisoned.status == 1, "\(poisoned.standardError)")
        #expect(poisoned.standardError.contains("feature 3 of example 5 is nan") && !poisoned.standardError.contains("learning rate"),
                "\(poisoned.standardError)")
    }
}
