import IdzipTraining
import Testing

struct EarlyStoppingTests {
    let rule = EarlyStopping(level: 0.9)

    @Test func clearlyAboveTheLevelStops() {
        #expect(rule.outcome(history: [0.911], totalEpochs: 5) == .passed)
        #expect(rule.outcome(history: [0.905], totalEpochs: 5) == nil, "within the margin: go on")
        #expect(rule.outcome(history: [0.95], totalEpochs: 1) == nil, "the last epoch is never cut short")
    }

    @Test func hopelessRunsStopAfterTwoEpochs() {
        #expect(rule.outcome(history: [0.5], totalEpochs: 5) == nil, "one epoch gives no trend")
        // 0.62 + 2 x 3 x 0.02 + 0.01 = 0.75 <= 0.9
        #expect(rule.outcome(history: [0.60, 0.62], totalEpochs: 5) == .cannotReach)
        // 0.85 + 2 x 3 x 0.02 = 0.97: could still pass
        #expect(rule.outcome(history: [0.83, 0.85], totalEpochs: 5) == nil)
        // A run that got worse is judged by its latest value with no further gain.
        #expect(rule.outcome(history: [0.89, 0.88], totalEpochs: 5) == .cannotReach)
        #expect(rule.outcome(history: [0.89, 0.895], totalEpochs: 3) == nil, "0.895 + 2 x 0.005 + 0.01 > 0.9")
    }

    @Test func longRunsAreJudgedAfterAThird() {
        let flat = [0.10, 0.11, 0.11, 0.12, 0.12, 0.12, 0.13, 0.13, 0.13]
        for count in 2...9 {
            #expect(rule.outcome(history: Array(flat.prefix(count)), totalEpochs: 30) == nil, "\(count) of 30 epochs")
        }
        #expect(rule.outcome(history: flat + [0.13], totalEpochs: 30) == .cannotReach)
        #expect(rule.outcome(history: [0.95], totalEpochs: 30) == .passed, "a pass needs no trend")
    }

    @Test func boundsAreSettable() {
        let strict = EarlyStopping(level: 0.9, margin: 0, optimism: 1)
        #expect(strict.outcome(history: [0.9001], totalEpochs: 4) == .passed)
        #expect(strict.outcome(history: [0.80, 0.85], totalEpochs: 4) == nil, "0.85 + 2 x 0.05 = 0.95")
        #expect(strict.outcome(history: [0.80, 0.82], totalEpochs: 4) == .cannotReach, "0.82 + 2 x 0.02 = 0.86")
    }
}
