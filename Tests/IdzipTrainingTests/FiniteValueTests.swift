import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// The finite-value policy (`FiniteValues`) and the data checks that go with it.
struct FiniteValueTests {
    static func set(_ features: [Float], labels: [Int32], classes: [String] = ["a", "b"]) throws -> Dataset {
        try Dataset(features: .floats(features), exampleShape: [2], labels: labels, classNames: classes)
    }

    @Test func nonFiniteFeaturesAreBadData() throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            #expect(throws: DataError.self) { try Self.set([0, 1, bad, 3], labels: [0, 1]) }
        }
        #expect(throws: DataError.invalid("feature 1 of example 1 is nan; every feature must be a finite number")) {
            try Self.set([0, 1, 2, .nan], labels: [0, 1])
        }
        #expect(try Self.set([0, 1, 2, 3], labels: [0, 1]).count == 2)
    }

    @Test func duplicateClassNamesAreRefused() throws {
        #expect(throws: DataError.invalid("classes 0 and 2 are both named 'a'; class names must differ")) {
            try Self.set([0, 1, 2, 3], labels: [0, 1], classes: ["a", "b", "a"])
        }
    }

    @Test func emptyTrainingOrTestSetsAreRefused() throws {
        let some = try Self.set([0, 1, 2, 3], labels: [0, 1])
        let none = try Self.set([], labels: [])
        #expect(throws: DataError.invalid("x: the test set has no examples")) { try DatasetPair(name: "x", train: some, test: none) }
        #expect(throws: DataError.invalid("x: the training set has no examples")) { try DatasetPair(name: "x", train: none, test: some) }
    }

    @Test func finalChecksNameTheValue() {
        #expect(FiniteValues.firstNonFinite([0, 1, .nan, .infinity]) == 2)
        #expect(FiniteValues.firstNonFinite([0, 1]) == nil)
        #expect(throws: TrainingError.divergedAfterTraining(what: "weight 1 is inf")) {
            try FiniteValues.checkFinal(weights: [0, .infinity])
        }
        #expect(throws: TrainingError.divergedAfterTraining(what: "the test loss is nan")) {
            try FiniteValues.checkFinal(loss: .nan, of: "test loss")
        }
        let message = TrainingError.divergedAfterTraining(what: "the test loss is nan").description
        #expect(message == "training diverged (the test loss is nan after training); no model written; try a lower learning rate")
        #expect(TrainingError.divergedAtStep(0).isDivergence && !TrainingError.data("x").isDivergence)
    }

    /// `--json` never fails on a number that is not finite: it becomes null.
    @Test func prettyJSONWritesNonFiniteNumbersAsNull() throws {
        struct Report: Encodable {
            var loss = Double.nan
            var best = Float.infinity
            var worst = -Double.infinity
            var values: [Double] = [1, .nan]
            var name = "nan"
        }
        let text = String(decoding: try prettyJSON(Report()), as: UTF8.self)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["loss"] is NSNull && object["best"] is NSNull && object["worst"] is NSNull)
        #expect((object["values"] as? [Any])?.last is NSNull)
        #expect(object["name"] as? String == "nan")
        #expect(String(decoding: try prettyJSON(["a": 1.5]), as: UTF8.self) == "{\n  \"a\" : 1.5\n}")
    }

    /// A run whose weights end up not finite is a failed job: nothing is written.
    @Test func divergedRunSealsNothing() throws {
        let features = (0..<64).map { Float($0 % 7) / 7 }
        let set = try Dataset(features: .floats(features), exampleShape: [4], labels: (0..<16).map { Int32($0 % 2) }, classNames: ["a", "b"])
        let data = SelectedData(selection: DataSelection(name: "synthetic"), pair: try DatasetPair(name: "synthetic", train: set, test: set))
        var configuration = TrainingRunSpec.recommendedConfiguration(for: .fullyConnected(inputShape: [4], widths: [3, 2]), subspace: true)
        configuration.epochs = 1
        configuration.batchSize = 4
        configuration.optimizer = .sgd()
        configuration.learningRate = 1e30
        configuration.threads = 1
        let spec = TrainingRunSpec(
            model: "fc:4-3-2", architecture: .fullyConnected(inputShape: [4], widths: [3, 2]), dimension: 5, projection: .dense,
            seed: 1, configuration: configuration, encoding: .float32)
        let run = try TrainingRun(spec: spec, problem: .dataset(data))
        let url = URL(fileURLWithPath: NSTemporaryDirectory() + "idzip-diverged-\(UUID().uuidString).idz")
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            try run.train()
            _ = try run.seal(to: url)
            Issue.record("a diverged run was sealed")
        } catch {
            #expect(error.isDivergence, "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }
}
