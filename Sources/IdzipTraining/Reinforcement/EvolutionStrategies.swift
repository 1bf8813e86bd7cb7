import Foundation
import IdzipCore

/// The settings of evolution strategies that `TrainingConfiguration` does not hold
/// (`--iterations`, `--population`, `--sigma`, `--eval-every`, `--eval-episodes`).
/// The step size, Adam's betas and epsilon, the L2 penalty, the seed and the threads come
/// from the run's `TrainingConfiguration` (`--lr`, `--l2`, `--seed`, `--threads`).
public struct ESSettings: Sendable, Hashable {
    /// Updates of the trained numbers.
    public var iterations: Int = 300
    /// Antithetic pairs per iteration: 2 x `pairs` perturbed policies each run episodes.
    public var pairs: Int = 10
    /// The perturbation scale sigma: candidates are x +- sigma eps, eps ~ N(0, I).
    public var sigma: Double = 0.5
    /// Episodes each perturbed candidate runs (its fitness is their mean return).
    public var episodesPerCandidate: Int = 1
    /// The unperturbed policy is evaluated before training, every `evaluateEvery`
    /// iterations and after the last, on `evaluationEpisodes` fixed episodes.
    public var evaluateEvery: Int = 10
    public var evaluationEpisodes: Int = 30

    public init() {}

    /// - Throws: `TrainingError.configuration` naming the first setting out of range.
    public func validate() throws(TrainingError) {
        guard iterations >= 1, iterations <= 1 << 24 else { throw .configuration("--iterations must be 1 ... 16777216") }
        guard pairs >= 1, pairs <= 1 << 16 else { throw .configuration("--population (antithetic pairs) must be 1 ... 65536") }
        guard sigma.isFinite, sigma > 0 else { throw .configuration("--sigma must be a positive number") }
        guard episodesPerCandidate >= 1, episodesPerCandidate <= 1 << 10 else {
            throw .configuration("episodes per candidate must be 1 ... 1024")
        }
        guard evaluateEvery >= 1 else { throw .configuration("--eval-every must be at least 1") }
        guard evaluationEpisodes >= 1, evaluationEpisodes <= 1 << 16 else { throw .configuration("--eval-episodes must be 1 ... 65536") }
    }

    /// One line for reports and model metadata.
    public var summary: String {
        "es iterations=\(iterations) pairs=\(pairs) sigma=\(sigma) episodes/candidate=\(episodesPerCandidate) "
            + "eval-every=\(evaluateEvery) eval-episodes=\(evaluationEpisodes)"
    }
}

/// Evolution strategies (Salimans et al. 2017, "Evolution Strategies as a Scalable
/// Alternative to Reinforcement Learning", Sec. 2, Algorithm 2 with antithetic sampling and
/// fitness shaping) training only theta_d of theta = theta0 + P theta_d (Li et al. 2018,
/// Sec. 3.3 and S6.2), or, directly, all of theta.
///
/// The trained vector x (theta_d from 0, or theta from theta0) is kept in float64. Iteration t
/// (0-based), n = `pairs`, m = x's length, e = `episodesPerCandidate`:
/// 1. eps_i (i < n), m standard normals each: normal (i m + k) of the Philox stream
///    (seed = the run's seed, purpose `esPerturbation` (28), sub-stream t).
/// 2. Candidates x + sigma eps_i and x - sigma eps_i (antithetic; rounded to float32) each
///    run e episodes. Both members of pair i share their episodes' seeds: episode j's seed is
///    64-bit value (t n + i) e + j of (seed, `episodeSeed` (25), sub-stream 0). A candidate's
///    fitness is its mean return.
/// 3. Centered ranks of the 2n fitnesses (`centeredRanks`: ties share their mean rank, so
///    equal returns give no step).
/// 4. The ascent estimate g = (1 / 2n) sum_i (w+_i - w-_i) eps_i (Salimans et al.'s
///    normalisation, without 1/sigma); Adam minimises with gradient -g + l2 x.
/// The unperturbed x is evaluated before training, every `evaluateEvery` iterations and
/// after the last, on the evaluation episodes of `PolicyEvaluation` (seeds: (seed,
/// `episodeSeed`, sub-stream 1)); the best mean return is the run's performance (the paper's
/// "maximum-attained mean evaluation reward", Sec. 3.3) and its x is kept.
///
/// Episodes run in parallel over candidates (`ParallelLoop`); every random number is
/// addressed by (iteration, pair, component) and the sums run in a fixed order, so the result
/// is the same for any thread count.
public struct EvolutionStrategies: Sendable {
    /// The optimiser's settings (Adam; the paper's Table S3: beta1 0.9, beta2 0.999, epsilon 1e-7).
    public struct Optimizer: Sendable, Hashable {
        public var learningRate: Double
        public var beta1: Double = 0.9
        public var beta2: Double = 0.999
        public var epsilon: Double = 1e-7
        /// The L2 penalty's coefficient (Salimans et al.'s `l2coeff`): l2 x is added to the
        /// gradient Adam follows.
        public var l2: Double = 0

        public init(learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7, l2: Double = 0) {
            self.learningRate = learningRate
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.l2 = l2
        }
    }

    public let environment: any ReinforcementEnvironment
    public let architecture: Architecture
    public let settings: ESSettings
    public let optimizer: Optimizer
    public let seed: UInt64
    public let threads: Int
    /// theta0 (D numbers).
    public let theta0: [Float]
    public let space: ParameterSpace

    /// - Parameters:
    ///   - environment: a prototype environment, copied for every episode.
    ///   - architecture: the policy network (`PolicyNetwork` says how its outputs act).
    ///   - theta0: the initial weights (D numbers).
    ///   - space: `.direct` (x = theta) or `.subspace(P)` (x = theta_d).
    /// - Throws: `TrainingError.configuration` for settings out of range, `.network` for a
    ///   network that does not fit the environment or the projection.
    public init(
        environment: any ReinforcementEnvironment, architecture: Architecture, theta0: [Float], space: ParameterSpace,
        settings: ESSettings, optimizer: Optimizer, seed: UInt64, threads: Int
    ) throws(TrainingError) {
        try settings.validate()
        guard optimizer.learningRate.isFinite, optimizer.learningRate > 0 else { throw .configuration("the learning rate must be positive") }
        guard (0..<1).contains(optimizer.beta1), (0..<1).contains(optimizer.beta2), optimizer.epsilon > 0 else {
            throw .configuration("Adam's betas must be in [0, 1) and its epsilon positive")
        }
        guard optimizer.l2.isFinite, optimizer.l2 >= 0 else { throw .configuration("the L2 penalty must be >= 0") }
        guard threads >= 1 else { throw .configuration("threads must be at least 1") }
        _ = try PolicyNetwork(architecture: architecture, observationCount: environment.observationCount, actionSpace: environment.actionSpace)
        let count: Int
        do { count = try architecture.parameterCount() } catch { throw .network(error.description) }
        guard theta0.count == count else { throw .network("theta0 has \(theta0.count) values; the network has \(count) parameters") }
        if case .subspace(let projection) = space, projection.rowCount != count {
            throw .network("the projection has \(projection.rowCount) rows but the network has \(count) parameters")
        }
        self.environment = environment
        self.architecture = architecture
        self.settings = settings
        self.optimizer = optimizer
        self.seed = seed
        self.threads = threads
        self.theta0 = theta0
        self.space = space
    }

    /// The trained vector's length: d, or D for direct training.
    public var trainedCount: Int {
        switch space {
        case .direct: theta0.count
        case .subspace(let projection): projection.columnCount
        }
    }

    /// The starting x: theta0 (direct) or zeros (theta_d).
    public var initialParameters: [Float] {
        switch space {
        case .direct: theta0
        case .subspace(let projection): [Float](repeating: 0, count: projection.columnCount)
        }
    }

    /// theta (D floats) for trained numbers x.
    public func theta(of trained: [Float]) -> [Float] {
        switch space {
        case .direct: trained
        case .subspace(let projection): Reparameterization(theta0: .values(theta0), projection: projection).theta(trained, threads: 1)
        }
    }

    /// The return of each episode of the policy of theta (D floats), episode k reset with
    /// `seeds[k]`; in parallel over episodes.
    public func returns(theta: [Float], seeds: [UInt64]) -> ReturnStatistics {
        var returns = [Double](repeating: 0, count: seeds.count)
        var lengths = [Int](repeating: 0, count: seeds.count)
        returns.withUnsafeMutableBufferPointer { returns in
            lengths.withUnsafeMutableBufferPointer { lengths in
                let target = UncheckedResults(returns: returns, lengths: lengths)
                ParallelLoop.forEach(pieces: seeds.count, threads: threads) { index in
                    let outcome = episode(theta: theta, seed: seeds[index])
                    target.returns[index] = outcome.0
                    target.lengths[index] = outcome.1
                }
            }
        }
        return ReturnStatistics(returns: returns, lengths: lengths)
    }

    /// One episode of the policy of theta from the reset of `seed`: (return, steps).
    func episode(theta: [Float], seed: UInt64) -> (Double, Int) {
        // The network was checked in init.
        let policy = try! PolicyNetwork(
            architecture: architecture, observationCount: environment.observationCount, actionSpace: environment.actionSpace)
        var env = environment
        var observation = env.reset(seed: seed)
        var total = 0.0
        var length = 0
        theta.withUnsafeBufferPointer { theta in
            while true {
                let step = env.step(policy.action(observation, theta: theta.baseAddress!))
                total += step.reward
                length += 1
                observation = step.observation
                if step.terminated || step.truncated || length >= env.maxEpisodeSteps { break }
            }
        }
        return (total, length)
    }

    /// The evaluation episodes' seeds: `PolicyEvaluation.episodeSeed(seed, episode: k)`.
    public var evaluationSeeds: [UInt64] {
        (0..<settings.evaluationEpisodes).map { PolicyEvaluation.episodeSeed(seed, episode: $0) }
    }

    /// Evaluations planned: the initial one, one every `evaluateEvery` iterations, and the last.
    public var plannedEvaluations: Int {
        1 + settings.iterations / settings.evaluateEvery + (settings.iterations % settings.evaluateEvery == 0 ? 0 : 1)
    }

    /// What `train` returns.
    public struct Outcome: Sendable {
        /// The best evaluated x (the one to keep) and its returns.
        public var best: [Float]
        public var bestReturns: ReturnStatistics
        /// x after the last iteration done.
        public var final: [Float]
        /// Iterations done (fewer than planned when `onEvaluation` stopped training).
        public var iterations: Int
        /// Every evaluation.
        public var evaluations: [PolicyEvaluationReport]
        /// Environment steps run in training episodes (evaluations not counted).
        public var steps: Int
    }

    /// Trains x from `initialParameters`.
    /// - Parameter onEvaluation: follows every evaluation; `.stop` ends training after it.
    public func train(onEvaluation: ((PolicyEvaluationReport) -> TrainingDecision)? = nil) -> Outcome {
        let started = Date()
        let m = trainedCount
        let n = settings.pairs
        let e = settings.episodesPerCandidate
        let sigma = settings.sigma
        let floor = environment.returnFloor
        var x = initialParameters.map(Double.init)
        var adam = ESAdam(count: m)
        var evaluations: [PolicyEvaluationReport] = []
        var best: (returns: ReturnStatistics, x: [Float])? = nil
        var steps = 0
        var episodes = 0
        var recent: [Double] = []
        let seeds = evaluationSeeds
        let episodeSeeds = RandomStream(seed: seed, purpose: .episodeSeed, substream: 0)

        func evaluate(iteration: Int) -> TrainingDecision {
            let current = x.map(Float.init)
            let returns = self.returns(theta: theta(of: current), seeds: seeds)
            if best == nil || returns.mean > best!.returns.mean { best = (returns, current) }
            let report = PolicyEvaluationReport(
                index: evaluations.count, step: iteration, plannedCount: plannedEvaluations, returns: returns,
                bestMean: best!.returns.mean, bestPerformance: best!.returns.mean - floor, trainingEpisodes: episodes,
                recentTrainingReturn: recent.isEmpty ? 0 : recent.reduce(0, +) / Double(recent.count), epsilon: 0,
                seconds: Date().timeIntervalSince(started))
            evaluations.append(report)
            return onEvaluation?(report) ?? .proceed
        }

        var done = 0
        if evaluate(iteration: 0) == .proceed {
            for iteration in 0..<settings.iterations {
                let noise = RandomStream(seed: seed, purpose: .esPerturbation, substream: UInt32(truncatingIfNeeded: iteration))
                // Candidate c = 2 i + (0: plus, 1: minus); its episodes are entries c e + j.
                var fitness = [Double](repeating: 0, count: 2 * n)
                var lengths = [Int](repeating: 0, count: 2 * n)
                fitness.withUnsafeMutableBufferPointer { fitness in
                    lengths.withUnsafeMutableBufferPointer { lengths in
                        let target = UncheckedResults(returns: fitness, lengths: lengths)
                        ParallelLoop.forEach(pieces: 2 * n, threads: threads) { candidate in
                            let pair = candidate / 2
                            let sign: Double = candidate % 2 == 0 ? 1 : -1
                            let perturbed = (0..<m).map { k in Float(x[k] + sign * sigma * noise.normal(UInt64(pair * m + k))) }
                            let theta = theta(of: perturbed)
                            var total = 0.0
                            var length = 0
                            for j in 0..<e {
                                let outcome = episode(theta: theta, seed: episodeSeeds.uint64(UInt64((iteration * n + pair) * e + j)))
                                total += outcome.0
                                length += outcome.1
                            }
                            target.returns[candidate] = total / Double(e)
                            target.lengths[candidate] = length
                        }
                    }
                }
                steps += lengths.reduce(0, +)
                episodes += 2 * n * e
                recent = fitness
                let weights = Self.centeredRanks(fitness)
                var gradient = [Double](repeating: 0, count: m)
                for pair in 0..<n {
                    let difference = weights[2 * pair] - weights[2 * pair + 1]
                    if difference == 0 { continue }
                    for k in 0..<m { gradient[k] += difference * noise.normal(UInt64(pair * m + k)) }
                }
                for k in 0..<m { gradient[k] = -gradient[k] / Double(2 * n) + optimizer.l2 * x[k] }
                adam.step(&x, gradient: gradient, optimizer: optimizer)
                done = iteration + 1
                if done % settings.evaluateEvery == 0 || done == settings.iterations {
                    if evaluate(iteration: done) == .stop { break }
                }
            }
        }
        return Outcome(
            best: best!.x, bestReturns: best!.returns, final: x.map(Float.init), iterations: done, evaluations: evaluations,
            steps: steps)
    }

    /// Centered ranks (Salimans et al. 2017, Sec. 2.1 "fitness shaping"): each value's rank
    /// (0 for the smallest; tied values share the mean of their ranks) mapped to
    /// rank / (count - 1) - 1/2, in [-1/2, 1/2]. A single value gets 0.
    public static func centeredRanks(_ values: [Double]) -> [Double] {
        let count = values.count
        guard count > 1 else { return [Double](repeating: 0, count: count) }
        let order = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
        var ranks = [Double](repeating: 0, count: count)
        var start = 0
        while start < count {
            var end = start + 1
            while end < count && values[order[end]] == values[order[start]] { end += 1 }
            let rank = Double(start + end - 1) / 2
            for position in start..<end { ranks[order[position]] = rank }
            start = end
        }
        return ranks.map { $0 / Double(count - 1) - 0.5 }
    }
}

/// Evolution strategies as a `PolicyTrainer` for `TrainingRun` (`idzip train --env ...
/// --algorithm es`): `EvolutionStrategies` over an `EnvironmentKind`, with the learning
/// rate, Adam's settings (when the optimiser is Adam; else the paper's), the L2 penalty, the
/// seed and the threads of the run's `TrainingConfiguration`.
public final class ESTrainer: PolicyTrainer {
    public let strategy: EvolutionStrategies
    public let environment: EnvironmentKind
    public var theta0: [Float] { strategy.theta0 }
    public var space: ParameterSpace { strategy.space }
    /// x: during training the initial one, after it the best evaluated one.
    public private(set) var parameters: [Float]
    /// Iterations done.
    public private(set) var progressCount = 0
    public private(set) var outcome: EvolutionStrategies.Outcome?

    public init(
        architecture: Architecture, theta0Seed: UInt64, space: ParameterSpace, environment: EnvironmentKind,
        configuration: TrainingConfiguration, settings: ESSettings
    ) throws(TrainingError) {
        try configuration.validate()
        let tensors: [TensorSpec]
        do { tensors = try architecture.parameterTensors() } catch { throw .network(error.description) }
        var optimizer = EvolutionStrategies.Optimizer(learningRate: Double(configuration.learningRate), l2: Double(configuration.l2))
        if case .adam(let beta1, let beta2, let epsilon) = configuration.optimizer {
            optimizer.beta1 = Double(beta1)
            optimizer.beta2 = Double(beta2)
            optimizer.epsilon = Double(epsilon)
        }
        strategy = try EvolutionStrategies(
            environment: environment.makeChecked(), architecture: architecture,
            theta0: InitialWeights.make(tensors: tensors, seed: theta0Seed, threads: configuration.threads), space: space,
            settings: settings, optimizer: optimizer, seed: configuration.seed, threads: configuration.threads)
        self.environment = environment
        parameters = strategy.initialParameters
    }

    public func theta() -> [Float] { strategy.theta(of: parameters) }

    public func train(onEvaluation: ((PolicyEvaluationReport) -> TrainingDecision)?) throws(TrainingError) {
        let outcome = strategy.train(onEvaluation: onEvaluation)
        self.outcome = outcome
        progressCount = outcome.iterations
        parameters = outcome.best
    }
}

/// Adam (Kingma & Ba 2015) in float64 as Salimans et al.'s ES code applies it:
/// x -= lr sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v) + epsilon).
struct ESAdam {
    var first: [Double]
    var second: [Double]
    /// beta1^t and beta2^t, by repeated multiplication (no libm: the same bits everywhere).
    var beta1Power = 1.0
    var beta2Power = 1.0

    init(count: Int) {
        first = [Double](repeating: 0, count: count)
        second = [Double](repeating: 0, count: count)
    }

    mutating func step(_ values: inout [Double], gradient: [Double], optimizer o: EvolutionStrategies.Optimizer) {
        beta1Power *= o.beta1
        beta2Power *= o.beta2
        let scale = o.learningRate * (1 - beta2Power).squareRoot() / (1 - beta1Power)
        for k in values.indices {
            first[k] = o.beta1 * first[k] + (1 - o.beta1) * gradient[k]
            second[k] = o.beta2 * second[k] + (1 - o.beta2) * gradient[k] * gradient[k]
            values[k] -= scale * first[k] / (second[k].squareRoot() + o.epsilon)
        }
    }
}

/// Lets parallel pieces write disjoint elements of two buffers.
private struct UncheckedResults: @unchecked Sendable {
    let returns: UnsafeMutableBufferPointer<Double>
    let lengths: UnsafeMutableBufferPointer<Int>
}
