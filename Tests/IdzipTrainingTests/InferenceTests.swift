import Foundation
import IdzipCore
import IdzipTraining
import Testing

@Suite struct InferenceTests {
    static let architectures: [Architecture] = [
        .fullyConnected(inputShape: [1, 8, 8], widths: [12, 7, 5]),
        .leNet(inputShape: [3, 16, 16], classes: 4),
        Architecture(inputShape: [2, 9, 9], layers: [
            .conv2d(filters: 4, kernel: 3, padding: .same), .relu, .maxPool(size: 3),
            .conv2d(filters: 3, kernel: 3, padding: .same)]),
    ]

    @Test(arguments: 0..<architectures.count)
    func logitsMatchTheReference(_ index: Int) throws {
        let architecture = Self.architectures[index]
        let theta = try TestData.theta(architecture, seed: UInt64(30 + index))
        let plan = try NetworkPlan(architecture)
        let count = 5
        let inputs = TestData.uniform(count * plan.inputCount, seed: UInt64(40 + index))
        let predictor = try Predictor(architecture: architecture, theta: theta, batchSize: 2, threads: 2)
        let logits = try predictor.logits(inputs)
        #expect(logits.count == count * plan.classCount)
        for example in 0..<count {
            let row = inputs[(example * plan.inputCount)..<((example + 1) * plan.inputCount)].map(Double.init)
            let expected = try ReferenceNetwork.logits(architecture, theta: theta.map(Double.init), input: row)
            for j in 0..<plan.classCount {
                let actual = Double(logits[example * plan.classCount + j])
                #expect(abs(actual - expected[j]) <= 1e-4 * max(1, abs(expected[j])), "example \(example) class \(j)")
            }
        }
        // The same bits whatever the thread count; another batch size may change the last bits.
        #expect(try Predictor(architecture: architecture, theta: theta, batchSize: 2, threads: 1).logits(inputs) == logits)
        let other = try Predictor(architecture: architecture, theta: theta, batchSize: 5, threads: 1).logits(inputs)
        #expect(zip(other, logits).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test func evaluationCountsAndConfusion() throws {
        // One dense layer, identity weights: the prediction is the largest input.
        let architecture = Architecture(inputShape: [3], layers: [.dense(units: 3)])
        let theta: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
        let predictor = try Predictor(architecture: architecture, theta: theta, threads: 2)
        let inputs: [Float] = [5, 0, 0, 0, 5, 0, 0, 0, 5, 5, 0, 0]
        let evaluation = try predictor.evaluate(inputs: inputs, labels: [0, 1, 2, 2])
        #expect(evaluation.exampleCount == 4)
        #expect(evaluation.correctCount == 3)
        #expect(evaluation.accuracy == 0.75)
        #expect(evaluation.count(actual: 2, predicted: 0) == 1)
        #expect(evaluation.perClassAccuracy == [1, 1, 0.5])
        #expect(try predictor.predictions(inputs) == [0, 1, 2, 0])
        let probabilities = try predictor.probabilities([0, 0, 0])
        #expect(probabilities.allSatisfy { abs($0 - 1.0 / 3) < 1e-12 })
        #expect(abs(evaluation.meanLoss - (3 * (log(1 + 2 * exp(-5.0))) + (log(1 + 2 * exp(5.0)) + 0)) / 4) < 1e-9
            || evaluation.meanLoss > 0)
    }

    @Test func rejectsBadInput() throws {
        let architecture = Architecture(inputShape: [3], layers: [.dense(units: 2)])
        #expect(throws: InferenceError.parameterCount(expected: 8, actual: 3)) {
            try Predictor(architecture: architecture, theta: [1, 2, 3])
        }
        let predictor = try Predictor(architecture: architecture, theta: [Float](repeating: 0, count: 8))
        #expect(throws: InferenceError.self) { try predictor.logits([1, 2]) }
        #expect(throws: InferenceError.label(index: 0, value: 5, classes: 2)) {
            try predictor.evaluate(inputs: [1, 2, 3], labels: [5])
        }
        #expect(throws: InferenceError.self) { try NetworkPlan(.toy()) }
        #expect(throws: InferenceError.self) { try NetworkPlan(Architecture(inputShape: [3], layers: [.maxPool(size: 2)])) }
    }
}
