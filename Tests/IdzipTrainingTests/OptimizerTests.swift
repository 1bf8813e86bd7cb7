import Foundation
import IdzipTraining
import Testing

@Suite struct OptimizerTests {
    static func run(_ kind: OptimizerKind, gradients: [[Float]], start: [Float], learningRate: Float) -> [Float] {
        let rule = kind.rule
        var parameters = start
        var state = OptimizerState(rule: rule, parameterCount: start.count)
        for gradient in gradients {
            parameters.withUnsafeMutableBufferPointer { p in
                gradient.withUnsafeBufferPointer { g in
                    rule.update(parameters: p, gradient: g, state: &state, learningRate: learningRate, threads: 2)
                }
            }
        }
        #expect(state.step == gradients.count)
        return parameters
    }

    @Test func adamMatchesItsDefinition() {
        let (beta1, beta2, epsilon, lr) = (0.9, 0.99, 1e-8, 1e-3)
        let count = 21  // vector lanes and a tail
        let gradients: [[Float]] = (0..<3).map { step in (0..<count).map { Float($0 - 10) * 0.1 + Float(step) * 0.05 } }
        let result = Self.run(.adam(beta1: 0.9, beta2: 0.99, epsilon: 1e-8), gradients: gradients, start: [Float](repeating: 1, count: count), learningRate: 1e-3)
        for i in 0..<count {
            var m = 0.0, v = 0.0, p = 1.0
            for (t, gradient) in gradients.enumerated() {
                let g = Double(gradient[i])
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g * g
                let mHat = m / (1 - pow(beta1, Double(t + 1))), vHat = v / (1 - pow(beta2, Double(t + 1)))
                p -= lr * mHat / (vHat.squareRoot() + epsilon)
            }
            #expect(abs(Double(result[i]) - p) < 1e-6, "parameter \(i)")
        }
    }

    /// Vector lanes and the scalar tail give the same bits.
    @Test func adamVectorAndScalarAgree() {
        let rule = AdamRule(beta1: 0.9, beta2: 0.99, epsilon: 1e-8)
        let gradient = (0..<13).map { Float($0) * 0.37 - 2 }
        func run(_ ranges: [Range<Int>]) -> [Float] {
            var parameters = [Float](repeating: 0.5, count: 13)
            var first = [Float](repeating: 0.01, count: 13), second = [Float](repeating: 0.02, count: 13)
            parameters.withUnsafeMutableBufferPointer { p in
                first.withUnsafeMutableBufferPointer { m in
                    second.withUnsafeMutableBufferPointer { v in
                        gradient.withUnsafeBufferPointer { g in
                            for range in ranges {
                                rule.apply(parameters: p.baseAddress!, gradient: g.baseAddress!, slots: [m.baseAddress!, v.baseAddress!],
                                           range: range, step: 3, learningRate: 0.01)
                            }
                        }
                    }
                }
            }
            return parameters + first + second
        }
        #expect(run([0..<13]) == run((0..<13).map { $0..<($0 + 1) }))
    }

    @Test func momentumMatchesItsDefinition() {
        let gradients: [[Float]] = [[1, -2, 0.5], [0.5, 1, -1]]
        let plain = Self.run(.sgd(momentum: 0.9, nesterov: false), gradients: gradients, start: [0, 0, 0], learningRate: 0.1)
        // v1 = g1, v2 = 0.9 g1 + g2; p = -0.1 (v1 + v2).
        for i in 0..<3 {
            let expected = -0.1 * (gradients[0][i] + (0.9 * gradients[0][i] + gradients[1][i]))
            #expect(abs(plain[i] - expected) < 1e-6)
        }
        let nesterov = Self.run(.sgd(momentum: 0.9, nesterov: true), gradients: [[1, 1, 1]], start: [0, 0, 0], learningRate: 0.1)
        #expect(nesterov.allSatisfy { abs($0 + 0.19) < 1e-6 })
        let none = Self.run(.sgd(momentum: 0, nesterov: false), gradients: gradients, start: [0, 0, 0], learningRate: 1)
        #expect(none == [-1.5, 1, 0.5])
    }

    @Test func schedules() throws {
        let step = LearningRateSchedule.step(every: 2, factor: 0.5)
        #expect((0..<5).map { step.rate(base: 1, epoch: $0, totalEpochs: 5) } == [1, 1, 0.5, 0.5, 0.25])
        #expect(LearningRateSchedule.constant.rate(base: 0.3, epoch: 9, totalEpochs: 10) == 0.3)
        let cosine = LearningRateSchedule.cosine(floor: 0.1)
        #expect(cosine.rate(base: 1, epoch: 0, totalEpochs: 3) == 1)
        #expect(abs(cosine.rate(base: 1, epoch: 2, totalEpochs: 3) - 0.1) < 1e-6)
        #expect(throws: TrainingError.self) { try LearningRateSchedule.step(every: 0, factor: 0.5).validate() }
        #expect(throws: TrainingError.self) { try OptimizerKind.adam(beta1: 1, beta2: 0.99, epsilon: 1e-8).validate() }
        #expect(throws: TrainingError.self) { try TrainingConfiguration(batchSize: 0).validate() }
        #expect(throws: TrainingError.self) { try TrainingConfiguration(learningRate: -1).validate() }
    }
}
