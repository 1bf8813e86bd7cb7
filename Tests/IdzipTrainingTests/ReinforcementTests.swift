import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// CartPole and DQN in a subspace (Li et al. 2018, Sec. 3.3 and S6.1). The dynamics are
/// checked against Gymnasium itself in Tests/python/test_cartpole.py.
struct ReinforcementTests {
    static let policy = try! Architecture(spec: "fc:4-64-64-2")

    @Test func cartPoleResetsFromPhiloxAndEndsEpisodes() {
        var env = CartPole()
        let first = env.reset(seed: 5)
        let stream = RandomStream(seed: 5, purpose: .environmentReset)
        #expect(env.state == (0..<4).map { -0.05 + 0.1 * stream.uniformDouble(UInt64($0)) })
        #expect(first == env.state.map { Double(Float($0)) })
        #expect(env.state.allSatisfy { $0 >= -0.05 && $0 < 0.05 })
        // Pushing right all the time tips the pole over within a few dozen steps.
        var steps = 0
        var last: EnvironmentStep?
        repeat {
            last = env.step(action: 1)
            steps += 1
        } while !(last!.terminated || last!.truncated)
        #expect(last!.terminated && !last!.truncated && last!.reward == 1 && steps < 60)
        // The time limit: 500 steps from a state held upright (the step count alone truncates).
        _ = env.reset(state: [0, 0, 0, 0])
        for step in 1...500 {
            let result = env.step(action: step % 2)
            #expect(result.truncated == (step == 500))
            if result.terminated { break }
        }
    }

    static func train(d: Int?, threads: Int, steps: Int, seed: UInt64 = 1, rate: Float? = nil) throws -> DQNTrainer {
        let count = try policy.parameterCount()
        let space: ParameterSpace = d.map {
            .subspace(trainingProjection(kind: .fastfood, rowCount: count, columnCount: $0, seed: seed ^ 0x9E37_79B9_7F4A_7C15, threads: threads))
        } ?? .direct
        var configuration = ReinforcementTask.recommendedConfiguration(subspace: d != nil, seed: seed)
        configuration.threads = threads
        if let rate { configuration.learningRate = rate }
        var settings = DQNSettings()
        settings.steps = steps
        settings.evaluateEvery = steps / 4
        settings.evaluationEpisodes = 8
        let trainer = try DQNTrainer(
            architecture: policy, theta0Seed: seed, space: space, environment: .cartpole, configuration: configuration, settings: settings)
        try trainer.train()
        return trainer
    }

    /// The same seed gives the same policy and evaluations with 1 or 2 threads (directly and in a subspace).
    @Test(arguments: [nil, 16] as [Int?])
    func deterministicAcrossThreadCounts(d: Int?) throws {
        let one = try Self.train(d: d, threads: 1, steps: 4_000)
        let two = try Self.train(d: d, threads: 2, steps: 4_000)
        #expect(one.parameters == two.parameters)
        #expect(one.evaluations.map(\.returns) == two.evaluations.map(\.returns))
        #expect(one.evaluations.count == 4 && one.stepsCompleted == 4_000)
        let other = try Self.train(d: d, threads: 1, steps: 4_000, seed: 2)
        #expect(other.parameters != one.parameters, "another seed trains another policy")
    }

    /// A short direct DQN run learns: the greedy policy of the untrained network and a uniformly
    /// random policy last about 10 and 22 steps; after 15,000 steps the best evaluated policy
    /// lasts well over 100 on average.
    @Test func shortDirectRunLearns() throws {
        let trainer = try Self.train(d: nil, threads: 2, steps: 15_000)
        let untrained = try PolicyEvaluation.run(
            architecture: Self.policy, theta: trainer.theta0, environment: .cartpole, episodes: 8, seed: 1, threads: 2)
        let best = try #require(trainer.best)
        #expect(untrained.mean < 40)
        #expect(best.mean > 100, "best evaluation \(best.mean), untrained \(untrained.mean)")
        // The kept parameters are the best evaluated ones: evaluating them again gives those returns.
        let again = try PolicyEvaluation.run(
            architecture: Self.policy, theta: trainer.theta(), environment: .cartpole, episodes: 8, seed: 1, threads: 1)
        #expect(again == best)
    }

    @Test func policyMustFitTheEnvironment() {
        #expect(throws: TrainingError.self) {
            try ReinforcementTask.check(architecture: try Architecture(spec: "fc:784-10"), environment: .cartpole)
        }
        #expect(throws: TrainingError.self) { try EnvironmentKind(name: "pong") }
    }
}
