import Foundation
import IdzipCore

/// Settings of deep Q-learning (Mnih et al. 2013) for the paper's CartPole task (Li et al.
/// 2018, Sec. S6.1), after OpenAI Baselines' `deepq` (but with the plain DQN target, not its
/// default double Q-learning): a replay buffer, a target
/// network copied every `targetUpdateEvery` steps, epsilon-greedy exploration annealed
/// linearly, a Huber TD loss on the chosen action's Q-value, Adam. The defaults are
/// Baselines' CartPole example (buffer 50,000, batch 32, learning from step 1,000, target
/// every 500 steps, epsilon 1 -> 0.02 over the first 10% of the steps) with discount 0.99
/// and 50,000 steps; the learning rate and optimiser come from `TrainingConfiguration`.
public struct DQNSettings: Sendable, Hashable {
    /// Environment steps of training.
    public var steps: Int = 50_000
    /// Transitions the replay buffer keeps (the oldest is replaced).
    public var bufferSize: Int = 50_000

    /// Bytes of the replay buffer for observations of `observationCount` numbers, as the
    /// trainer allocates it: min(bufferSize, steps) transitions of two float32
    /// observations, an Int32 action, a Double reward and a Bool flag.
    public func replayBytes(observationCount: Int) -> Int {
        MemoryBudget.product([min(bufferSize, steps), MemoryBudget.sum(MemoryBudget.product([8, observationCount]), 13)])
    }
    /// Transitions per update.
    public var batchSize: Int = 32
    /// Steps of pure collection before the first update.
    public var learningStarts: Int = 1_000
    /// One update every this many steps.
    public var trainEvery: Int = 1
    /// The target network is the online one copied every this many steps.
    public var targetUpdateEvery: Int = 500
    /// Epsilon falls linearly from `initialEpsilon` to `finalEpsilon` over this fraction of `steps`.
    public var explorationFraction: Double = 0.1
    public var initialEpsilon: Double = 1
    public var finalEpsilon: Double = 0.02
    /// Discount of future rewards.
    public var gamma: Double = 0.99
    /// The greedy policy is evaluated every this many steps (and after the last one).
    public var evaluateEvery: Int = 2_500
    /// Episodes per evaluation (the paper: 30).
    public var evaluationEpisodes: Int = 30
    /// Huber loss (Baselines' choice) or, when false, squared error (1/2 delta^2).
    public var huber: Bool = true

    public init() {}

    public func validate() throws(TrainingError) {
        guard steps >= 1, steps <= 100_000_000 else { throw .configuration("--steps must be between 1 and 100,000,000") }
        guard bufferSize >= 1, bufferSize <= 10_000_000 else { throw .configuration("the replay buffer must hold 1 to 10,000,000 transitions") }
        guard batchSize >= 1, batchSize <= 65_536 else { throw .configuration("the DQN batch size must be between 1 and 65,536") }
        guard learningStarts >= 0, trainEvery >= 1, targetUpdateEvery >= 1 else {
            throw .configuration("learning starts must be at least 0, the update and target intervals at least 1")
        }
        guard explorationFraction > 0, explorationFraction <= 1, (0...1).contains(initialEpsilon), (0...1).contains(finalEpsilon) else {
            throw .configuration("epsilons must be in [0, 1] and the exploration fraction in (0, 1]")
        }
        guard gamma >= 0, gamma <= 1 else { throw .configuration("the discount must be in [0, 1]") }
        guard evaluateEvery >= 1 else { throw .configuration("--eval-every must be at least 1") }
        guard evaluationEpisodes >= 1, evaluationEpisodes <= 100_000 else { throw .configuration("--eval-episodes must be between 1 and 100,000") }
    }

    /// Epsilon at step `t` (0-based).
    public func epsilon(at t: Int) -> Double {
        let span = max(1.0, explorationFraction * Double(steps))
        let fraction = min(1.0, Double(t) / span)
        return initialEpsilon + fraction * (finalEpsilon - initialEpsilon)
    }

    /// "dqn steps=50000 buffer=50000 batch=32 starts=1000 target=500 eps=1->0.02/0.1 gamma=0.99 huber eval=2500x30".
    public var summary: String {
        "dqn steps=\(steps) buffer=\(bufferSize) batch=\(batchSize) starts=\(learningStarts) every=\(trainEvery) "
            + "target=\(targetUpdateEvery) eps=\(initialEpsilon)->\(finalEpsilon)/\(explorationFraction) gamma=\(gamma) "
            + "\(huber ? "huber" : "mse") eval=\(evaluateEvery)x\(evaluationEpisodes)"
    }
}

/// One periodic evaluation of the greedy policy during reinforcement learning.
public struct PolicyEvaluationReport: Sendable, Hashable {
    /// 0-based number of the evaluation.
    public var index: Int
    /// Environment steps trained so far.
    public var step: Int
    /// Evaluations planned in the whole run.
    public var plannedCount: Int
    public var returns: ReturnStatistics
    /// The best mean return so far (this one included).
    public var bestMean: Double
    /// The performance of the best policy so far: best mean return - the environment's floor.
    public var bestPerformance: Double
    /// Training episodes finished so far, and the mean return of the last (up to) 100 of them.
    public var trainingEpisodes: Int
    public var recentTrainingReturn: Double
    public var epsilon: Double
    public var seconds: Double
}

/// Deep Q-learning of an FC network over an environment's observations, directly (all of
/// theta) or in a random subspace: theta = theta0 + P theta_d with only theta_d trained
/// (Li et al. 2018, Sec. 2 and S6.1). The TD loss's gradient with respect to theta
/// (backpropagated through the existing FC backward pass, `NetworkGradient`) is projected by
/// P^T onto theta_d.
///
/// The kept policy is the best one evaluated: the paper's performance for RL is "the
/// maximum-attained (over training iterations) mean evaluation reward (averaged over 30
/// evaluations)" (Sec. 3.3), so every `evaluateEvery` steps the greedy policy plays
/// `evaluationEpisodes` episodes (the same seeds each time, `PolicyEvaluation`, stream
/// sub-stream 1 of the run's seed) and `parameters` ends as the best of them.
///
/// Random draws (Philox, `StreamPurpose`): training episode k resets with seed = 64-bit
/// value k of (seed, `episodeSeed`, 0); at step t, exploration draws the float64 uniform
/// number 2t of (seed, `exploration`, 0) against epsilon and, when exploring, the action
/// `integer(2t + 1, below: actions)`; update u samples transition
/// `integer(u * batch + j, below: stored)` of (seed, `replaySampling`, 0) for row j.
/// Deterministic for a seed: training runs on one thread and only the evaluation episodes
/// run in parallel, each on its own, so the result is the same for any thread count.
public final class DQNTrainer {
    public let architecture: Architecture
    package let plan: NetworkPlan
    public let environment: EnvironmentKind
    public let configuration: TrainingConfiguration
    public let settings: DQNSettings
    public let space: ParameterSpace
    /// The frozen initial parameters (D numbers).
    public let theta0: [Float]
    /// theta (direct) or theta_d (subspace): during training the current ones, after it the
    /// best evaluated ones.
    public private(set) var parameters: [Float]
    /// Environment steps done.
    public private(set) var stepsCompleted = 0
    /// Evaluations done.
    public private(set) var evaluations: [PolicyEvaluationReport] = []
    /// The best evaluation's returns.
    public private(set) var best: ReturnStatistics?
    private let rule: any UpdateRule

    public init(
        architecture: Architecture, theta0Seed: UInt64, space: ParameterSpace, environment: EnvironmentKind,
        configuration: TrainingConfiguration, settings: DQNSettings
    ) throws(TrainingError) {
        try configuration.validate()
        try settings.validate()
        do {
            plan = try NetworkPlan(architecture)
        } catch {
            throw .network(error.description)
        }
        try PolicyNetwork.check(plan: plan, environment: environment)
        guard case .discrete = environment.make().actionSpace else {
            throw .configuration("DQN needs discrete actions; \(environment.rawValue) has continuous ones (use --algorithm es)")
        }
        guard plan.parameterCount > 0 else { throw .network("the network has no parameters to train") }
        if case .subspace(let projection) = space {
            guard projection.rowCount == plan.parameterCount else {
                throw .network("the projection has \(projection.rowCount) rows but the network has \(plan.parameterCount) parameters")
            }
        }
        let tensors: [TensorSpec]
        do {
            tensors = try architecture.parameterTensors()
        } catch {
            throw .network(error.description)
        }
        self.architecture = architecture
        self.environment = environment
        self.configuration = configuration
        self.settings = settings
        self.space = space
        theta0 = InitialWeights.make(tensors: tensors, seed: theta0Seed, threads: configuration.threads)
        switch space {
        case .direct: parameters = theta0
        case .subspace(let projection): parameters = [Float](repeating: 0, count: projection.columnCount)
        }
        rule = configuration.optimizer.rule
    }

    /// theta (D floats) for trained numbers `trained`.
    public func theta(of trained: [Float]) -> [Float] {
        switch space {
        case .direct:
            return trained
        case .subspace(let projection):
            return Reparameterization(theta0: .values(theta0), projection: projection).theta(trained, threads: configuration.threads)
        }
    }

    public func theta() -> [Float] { theta(of: parameters) }

    /// Trains for `settings.steps` environment steps; `onEvaluation` follows every evaluation
    /// and may stop training (`.stop`) after it. Ends with `parameters` the best evaluated.
    /// - Throws: `TrainingError.diverged` when the TD loss is not finite.
    public func train(onEvaluation: ((PolicyEvaluationReport) -> TrainingDecision)? = nil) throws(TrainingError) {
        Gemm.setThreadCount(1)
        let started = Date()
        let sample = environment.make()
        let observationCount = sample.observationCount
        let actionCount = sample.actionSpace.outputCount
        let batch = settings.batchSize
        let threads = configuration.threads
        let network: NetworkGradient
        let target: ForwardPass
        let policy: PolicyNetwork
        do {
            network = try NetworkGradient(plan: plan, batchCapacity: batch)
            target = try ForwardPass(plan: plan, batchCapacity: batch)
            policy = try PolicyNetwork(architecture: architecture, environment: environment)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .network("\(error)")
        }
        let parameterCount = plan.parameterCount
        let capacity = min(settings.bufferSize, settings.steps)
        var states = [Float](repeating: 0, count: capacity * observationCount)
        var nextStates = [Float](repeating: 0, count: capacity * observationCount)
        var actions = [Int32](repeating: 0, count: capacity)
        var rewards = [Double](repeating: 0, count: capacity)
        var terminals = [Bool](repeating: false, count: capacity)
        var stored = 0

        var theta = self.theta(of: parameters)
        var targetTheta = theta
        var gradient = [Float](repeating: 0, count: parameterCount)
        var gradientSpace = [Float](repeating: 0, count: parameters.count)
        var optimizerState = OptimizerState(rule: rule, parameterCount: parameters.count)
        var bestParameters = parameters
        var bestMean = -Double.infinity
        let floor = sample.returnFloor
        let exploration = RandomStream(seed: configuration.seed, purpose: .exploration)
        let replay = RandomStream(seed: configuration.seed, purpose: .replaySampling)
        let episodeSeeds = RandomStream(seed: configuration.seed, purpose: .episodeSeed, substream: 0)
        let plannedEvaluations = (settings.steps + settings.evaluateEvery - 1) / settings.evaluateEvery
        var updates: UInt64 = 0
        var rows = [Int](repeating: 0, count: batch)
        var targets = [Double](repeating: 0, count: batch)

        var env = environment.make()
        var episodes = 0
        var episodeReturn = 0.0
        var recentReturns: [Double] = []
        var observation = env.reset(seed: episodeSeeds.uint64(0))
        var episodeLength = 0

        func evaluate(step: Int) throws(TrainingError) -> TrainingDecision {
            let returns = try PolicyEvaluation.run(
                architecture: architecture, theta: theta, environment: environment, episodes: settings.evaluationEpisodes,
                seed: configuration.seed, threads: threads)
            if returns.mean > bestMean {
                bestMean = returns.mean
                bestParameters = parameters
                best = returns
            }
            let report = PolicyEvaluationReport(
                index: evaluations.count, step: step, plannedCount: plannedEvaluations, returns: returns, bestMean: bestMean,
                bestPerformance: bestMean - floor, trainingEpisodes: episodes,
                recentTrainingReturn: recentReturns.isEmpty ? 0 : recentReturns.reduce(0, +) / Double(recentReturns.count),
                epsilon: settings.epsilon(at: step), seconds: Date().timeIntervalSince(started))
            evaluations.append(report)
            return onEvaluation?(report) ?? .proceed
        }

        var t = stepsCompleted
        while t < settings.steps {
            // Act: epsilon-greedy.
            let epsilon = settings.epsilon(at: t)
            let action: Int
            if exploration.uniformDouble(UInt64(2 * t)) < epsilon {
                action = Int(exploration.integer(UInt64(2 * t + 1), below: UInt64(actionCount)))
            } else {
                action = theta.withUnsafeBufferPointer { Int(policy.action(observation, theta: $0.baseAddress!)[0]) }
            }
            let step = env.step([Double(action)])
            episodeLength += 1
            episodeReturn += step.reward
            // Store the transition (the oldest is replaced once the buffer is full).
            let slot = t % capacity
            for i in 0..<observationCount {
                states[slot * observationCount + i] = Float(observation[i])
                nextStates[slot * observationCount + i] = Float(step.observation[i])
            }
            actions[slot] = Int32(action)
            rewards[slot] = step.reward
            terminals[slot] = step.terminated
            stored = min(stored + 1, capacity)
            if step.terminated || step.truncated || episodeLength >= env.maxEpisodeSteps {
                episodes += 1
                recentReturns.append(episodeReturn)
                if recentReturns.count > 100 { recentReturns.removeFirst() }
                episodeReturn = 0
                episodeLength = 0
                observation = env.reset(seed: episodeSeeds.uint64(UInt64(episodes)))
            } else {
                observation = step.observation
            }
            t += 1

            // Learn.
            if t > settings.learningStarts, t % settings.trainEvery == 0 {
                for j in 0..<batch { rows[j] = Int(replay.integer(updates &* UInt64(batch) &+ UInt64(j), below: UInt64(stored))) }
                updates += 1
                // Targets r + gamma max_a' Q_target(s', a'), no bootstrap past a terminal state.
                for (j, row) in rows.enumerated() {
                    for i in 0..<observationCount { target.input[j * observationCount + i] = nextStates[row * observationCount + i] }
                }
                targetTheta.withUnsafeBufferPointer { target.run(theta: $0.baseAddress!, batch: batch, threads: 1) }
                let nextValues = target.logits
                for (j, row) in rows.enumerated() {
                    var best = nextValues[j * actionCount]
                    for a in 1..<actionCount { best = max(best, nextValues[j * actionCount + a]) }
                    targets[j] = rewards[row] + (terminals[row] ? 0 : settings.gamma * Double(best))
                }
                for (j, row) in rows.enumerated() {
                    for i in 0..<observationCount { network.forward.input[j * observationCount + i] = states[row * observationCount + i] }
                }
                let huber = settings.huber
                let loss = theta.withUnsafeBufferPointer { theta in
                    gradient.withUnsafeMutableBufferPointer { gradient in
                        network.compute(theta: theta.baseAddress!, batch: batch, gradient: gradient.baseAddress!, threads: 1) { outputs, outputGradient in
                            var sum = 0.0
                            for j in 0..<batch {
                                for a in 0..<actionCount { outputGradient[j * actionCount + a] = 0 }
                                let chosen = Int(actions[rows[j]])
                                let delta = Double(outputs[j * actionCount + chosen]) - targets[j]
                                let slope: Double
                                if huber, abs(delta) > 1 {
                                    sum += abs(delta) - 0.5
                                    slope = delta > 0 ? 1 : -1
                                } else {
                                    sum += 0.5 * delta * delta
                                    slope = delta
                                }
                                outputGradient[j * actionCount + chosen] = Float(slope / Double(batch))
                            }
                            return sum / Double(batch)
                        }
                    }
                }
                guard loss.isFinite else { throw .diverged(epoch: evaluations.count, batch: Int(updates)) }
                let rate = configuration.learningRate
                parameters.withUnsafeMutableBufferPointer { trained in
                    switch space {
                    case .direct:
                        gradient.withUnsafeBufferPointer { gradient in
                            rule.update(parameters: trained, gradient: gradient, state: &optimizerState, learningRate: rate, threads: 1)
                        }
                    case .subspace(let projection):
                        gradientSpace.withUnsafeMutableBufferPointer { gradientSpace in
                            gradient.withUnsafeBufferPointer { projection.projectTranspose($0, into: gradientSpace) }
                            rule.update(
                                parameters: trained, gradient: UnsafeBufferPointer(gradientSpace), state: &optimizerState,
                                learningRate: rate, threads: 1)
                        }
                    }
                }
                // theta = theta0 + P theta_d, in place on this thread (the parallel pieces of
                // the projection cost more than they save at these sizes; the bits are the same).
                if case .subspace(let projection) = space {
                    parameters.withUnsafeBufferPointer { trained in
                        theta.withUnsafeMutableBufferPointer { theta in
                            Reparameterization(theta0: .values(theta0), projection: projection)
                                .write(thetaD: trained, rows: 0..<parameterCount, into: theta, threads: 1)
                        }
                    }
                } else {
                    theta = parameters
                }
            }
            if t % settings.targetUpdateEvery == 0 { targetTheta = theta }
            if t % settings.evaluateEvery == 0 || t == settings.steps {
                stepsCompleted = t
                if try evaluate(step: t) == .stop { break }
            }
        }
        stepsCompleted = t
        parameters = bestParameters
    }
}
