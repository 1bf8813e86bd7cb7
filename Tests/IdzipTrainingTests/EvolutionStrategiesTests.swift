import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// A one-step task: observe 1, act a in [-10, 10], reward -(a - 2)^2 (or a constant).
private struct TargetEnvironment: ReinforcementEnvironment {
    static let name = "target"
    var constant = false
    var observationCount: Int { 1 }
    var actionSpace: ActionSpace { .continuous(count: 1, low: -10, high: 10) }
    var maxEpisodeSteps: Int { 1 }
    mutating func reset(seed: UInt64) -> [Double] { [1] }
    mutating func step(_ action: [Double]) -> EnvironmentStep {
        let reward = constant ? 5 : -(action[0] - 2) * (action[0] - 2)
        return EnvironmentStep(observation: [1], reward: reward, terminated: true, truncated: false)
    }
}

struct EvolutionStrategiesTests {
    @Test func centeredRanksAreShapedAndTiesShareTheirMeanRank() {
        #expect(EvolutionStrategies<TargetEnvironment>.centeredRanks([3, 1, 2]) == [0.5, -0.5, 0])
        #expect(EvolutionStrategies<TargetEnvironment>.centeredRanks([4, 4, 4]) == [0, 0, 0])
        // Ranks 1.5, 1.5, 0, 3 of 0 ... 3.
        #expect(EvolutionStrategies<TargetEnvironment>.centeredRanks([5, 5, 1, 9]) == [0, 0, -0.5, 0.5])
        // Only the order matters, not the scale.
        #expect(EvolutionStrategies<TargetEnvironment>.centeredRanks([-1e9, 0, 1e-9]) == [-0.5, 0, 0.5])
        #expect(EvolutionStrategies<TargetEnvironment>.centeredRanks([7]) == [0])
    }

    /// Equal returns give equal ranks, so antithetic pairs cancel and theta_d never moves.
    @Test func equalReturnsGiveNoUpdate() throws {
        let es = try EvolutionStrategies(
            environment: TargetEnvironment(constant: true), architecture: Architecture(spec: "fc:1-4-1"), theta0Seed: 1,
            projection: ProjectionSpec(kind: .dense, seed: 2, dimension: 3),
            configuration: EvolutionStrategiesConfiguration(iterations: 5, pairs: 4, threads: 2))
        let result = es.train()
        #expect(result.finalThetaD == [0, 0, 0])
        #expect(result.evaluations.allSatisfy { $0.meanReturn == 5 })
    }

    /// One antithetic pair with the pair's + member better: theta_d moves along +eps_0 by
    /// Adam's first step (lr for every component whose noise is not tiny).
    @Test func onePairStepsAlongTheBetterPerturbation() throws {
        let configuration = EvolutionStrategiesConfiguration(iterations: 1, pairs: 1, sigma: 0.01, learningRate: 0.1, seed: 9, threads: 1)
        let es = try EvolutionStrategies(
            environment: TargetEnvironment(), architecture: Architecture(spec: "fc:1-1"), theta0Seed: 3,
            projection: nil, configuration: configuration)
        let result = es.train()
        let noise = RandomStream(seed: 9, purpose: .esPerturbation, substream: 0)
        let eps = [noise.normal(0), noise.normal(1)]
        // fc:1-1: action = w + b (observation 1); better candidates are nearer 2.
        let theta0 = es.theta([0, 0])
        let plusBetter = abs(Double(theta0[0] + theta0[1]) + 0.01 * (eps[0] + eps[1]) - 2)
            < abs(Double(theta0[0] + theta0[1]) - 0.01 * (eps[0] + eps[1]) - 2)
        for k in 0..<2 {
            let expected = (plusBetter ? 1.0 : -1.0) * (eps[k] > 0 ? 1 : -1) * 0.1
            #expect(abs(Double(result.finalThetaD[k]) - expected) < 1e-6)
        }
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        func run(threads: Int) throws -> EvolutionStrategiesResult {
            let configuration = EvolutionStrategiesConfiguration(
                iterations: 4, pairs: 5, evaluationInterval: 2, evaluationEpisodes: 3, seed: 11, threads: threads)
            return try EvolutionStrategies(
                environment: InvertedPendulum(), architecture: Architecture(spec: "fc:4-20-20-2"), theta0Seed: 5,
                projection: ProjectionSpec(kind: .sparse, seed: 6, dimension: 8), configuration: configuration
            ).train()
        }
        let one = try run(threads: 1)
        let three = try run(threads: 3)
        #expect(one.finalThetaD == three.finalThetaD)
        #expect(one.evaluations == three.evaluations)
        #expect(one.steps == three.steps && one.episodes == three.episodes)
        #expect(one.finalThetaD.contains { $0 != 0 })
    }

    /// ES in a d = 4 dense subspace of the paper's D = 562 network learns to balance:
    /// the evaluation return rises well above the initial policy's.
    @Test func learnsInvertedPendulumInASmallSubspace() throws {
        let es = try EvolutionStrategies(
            environment: InvertedPendulum(), architecture: Architecture(spec: "fc:4-20-20-2"), theta0Seed: 0,
            projection: ProjectionSpec(kind: .dense, seed: 1, dimension: 4),
            configuration: EvolutionStrategiesConfiguration(iterations: 30, pairs: 10, evaluationInterval: 5, evaluationEpisodes: 5, seed: 0))
        #expect(es.parameterCount == 562)
        let result = es.train()
        let initial = result.evaluations[0].meanReturn
        print("ES on InvertedPendulum, d = 4: initial \(initial), best \(result.best.meanReturn) at iteration \(result.best.iteration)")
        #expect(initial < 100)
        #expect(result.best.meanReturn >= initial + 200)
    }

    @Test func badSettingsAndMismatchedNetworksAreRefused() throws {
        #expect(throws: ReinforcementError.self) {
            try EvolutionStrategiesConfiguration(sigma: 0).validate()
        }
        #expect(throws: ReinforcementError.self) {
            try EvolutionStrategies(
                environment: InvertedPendulum(), architecture: Architecture(spec: "fc:3-8-1"), theta0Seed: 0,
                projection: nil, configuration: EvolutionStrategiesConfiguration())
        }
        #expect(throws: ReinforcementError.self) {
            try EvolutionStrategies(
                environment: InvertedPendulum(), architecture: Architecture(spec: "fc:4-8-1"), theta0Seed: 0,
                projection: ProjectionSpec(kind: .dense, seed: 0, dimension: 100), configuration: EvolutionStrategiesConfiguration())
        }
    }
}
