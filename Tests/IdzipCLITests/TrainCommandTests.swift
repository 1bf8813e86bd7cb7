import Foundation
import IdzipCore
import Testing

/// `idzip train` and `idzip eval` end to end on a small share of the shipped MNIST.
struct TrainCommandTests {
    static let small = ["train", "--model", "fc:784-32-10", "--data", "mnist", "--train-fraction", "0.05", "--batch-size", "64"]

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func subspaceTrainingThenEvaluation() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(
            Self.small + ["--dim", "200", "--epochs", "2", "--learning-rate", "0.1", "-o", "m.idz", "--json"], in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let summary = try Self.json(train.standardOutput)
        let testAccuracy = try #require(summary["test_accuracy"] as? Double)
        #expect(testAccuracy > 0.5)
        #expect((summary["history"] as? [Any])?.count == 2)
        #expect(directory.contents == ["m.idz"], "no checkpoint or temporary file is left")

        let model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        #expect(model.projection.kind == .fastfood && model.projection.dimension == 200)
        #expect(model.metadata["test.accuracy"] == .double(testAccuracy))

        let eval = try CommandRunner.run(
            ["eval", "m.idz", "--data", "mnist", "--json", "--confusion", "--predictions", "p.txt"], in: directory.url)
        #expect(eval.status == 0, "\(eval.standardError)")
        let report = try Self.json(eval.standardOutput)
        #expect(report["accuracy"] as? Double == testAccuracy, "eval reports what train recorded")
        #expect(report["examples"] as? Int == 10_000)
        let confusion = try #require(report["confusion"] as? [[Int]])
        #expect(confusion.joined().reduce(0, +) == 10_000)
        let predictions = try String(contentsOf: directory.file("p.txt"), encoding: .utf8).split(separator: "\n")
        #expect(predictions.count == 10_000)
    }

    /// Same command and seed: byte-identical model. Interrupted and resumed: the same bytes too.
    @Test func deterministicAndResumable() throws {
        let directory = try TemporaryDirectory()
        let arguments = Self.small + ["--dim", "50", "--learning-rate", "0.01", "--seed", "3"]
        for name in ["a.idz", "b.idz"] {
            let result = try CommandRunner.run(arguments + ["--epochs", "2", "-o", name], in: directory.url)
            #expect(result.status == 0, "\(result.standardError)")
        }
        let first = try CommandRunner.run(arguments + ["--epochs", "1", "--keep-checkpoint", "-o", "c.idz"], in: directory.url)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(directory.contents.contains("c.idz.checkpoint"))
        let resumed = try CommandRunner.run(arguments + ["--epochs", "2", "--resume", "-o", "c.idz"], in: directory.url)
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardOutput.contains("resuming after epoch 1"))

        let a = try Data(contentsOf: directory.file("a.idz"))
        #expect(a == (try Data(contentsOf: directory.file("b.idz"))))
        let modelA = try IdzFile.read(contentsOf: directory.file("a.idz"))
        let modelC = try IdzFile.read(contentsOf: directory.file("c.idz"))
        #expect(modelA.theta == modelC.theta)
        #expect(modelA.weightsSHA256 == modelC.weightsSHA256)

        // A checkpoint of a different command is refused.
        _ = try CommandRunner.run(arguments + ["--epochs", "1", "--keep-checkpoint", "-o", "d.idz"], in: directory.url)
        let other = try CommandRunner.run(
            arguments + ["--epochs", "2", "--resume", "--learning-rate", "0.02", "-o", "d.idz"], in: directory.url)
        #expect(other.status == 1)
        #expect(other.standardError.contains("different training command"))
        // The changed setting is named with its old and new value, and only it.
        #expect(other.standardError.contains("lr=0.01") && other.standardError.contains("now '")
            && other.standardError.contains("lr=0.02") && !other.standardError.contains("was 'model"), "\(other.standardError)")
    }

    @Test func directTrainingWritesSafetensorsThatEvalReads() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(Self.small + ["--epochs", "1", "-o", "w.safetensors", "--json"], in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let accuracy = try #require(try Self.json(train.standardOutput)["test_accuracy"] as? Double)
        #expect(accuracy > 0.65)
        let eval = try CommandRunner.run(["eval", "w.safetensors", "--data", "mnist", "--json"], in: directory.url)
        #expect(eval.status == 0, "\(eval.standardError)")
        #expect(try Self.json(eval.standardOutput)["accuracy"] as? Double == accuracy)
        // Stored as .idz with the identity projection instead.
        let idz = try CommandRunner.run(Self.small + ["--epochs", "1", "-o", "w.idz", "--json"], in: directory.url)
        #expect(idz.status == 0, "\(idz.standardError)")
        #expect(try IdzFile.read(contentsOf: directory.file("w.idz")).projection.kind == .identity)
    }

    @Test func badTrainingInputGetsOneLine() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: directory.file("empty"), withIntermediateDirectories: true)
        let cases: [([String], Int32)] = [
            (["train", "--data", "no-such-set", "-o", "m.safetensors"], 1),
            (["train", "--data", "empty", "-o", "m.safetensors"], 1),
            (["train", "--dim", "10", "-o", "m.safetensors"], 64),
            (["train", "--dim", "0", "-o", "m.idz"], 64),
            (["train", "--model", "fc:784-10", "--dim", "99999", "-o", "m.idz"], 64),
            (["train", "--learning-rate", "-1", "-o", "m.idz"], 64),
            (["train", "--train-fraction", "2", "-o", "m.idz"], 64),
            (["train", "--resume", "--epochs", "1", "-o", "m.idz"], 1),
            (["train", "--model", "lenet:3x32x32", "--data", "mnist", "--epochs", "1", "-o", "m.idz"], 1),
            (["eval", "missing.idz", "--data", "mnist"], 1),
        ]
        for (arguments, status) in cases {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == status, "\(arguments): \(result.standardError)")
            let lines = result.standardError.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See") && !$0.hasPrefix("Help:") }
            #expect(lines.count == 1, "\(arguments): \(result.standardError)")
        }
        #expect(directory.contents == ["empty"])
    }
}
