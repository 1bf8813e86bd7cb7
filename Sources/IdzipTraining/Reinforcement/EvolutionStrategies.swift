import Foundation
import IdzipCore

/// Settings of evolution strategies (`EvolutionStrategies`). Defaults suit InvertedPendulum.
public struct EvolutionStrategiesConfiguration: Sendable, Hashable {
    /// Updates of theta_d.
    public var iterations: Int
    /// Antithetic pairs per iteration: 2 x `pairs` perturbed policies each run episodes.
    public var pairs: Int
    /// The perturbation scale sigma: candidates are theta_d +- sigma eps, eps ~ N(0, I_d).
    public var sigma: Double
    /// Adam's step size.
    public var learningRate: Double
    /// Adam's moment decays and epsilon (the paper's Table S3: 0.9, 0.999, 1e-7).
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// The L2 penalty on theta_d: `weightDecay` x theta_d is added to the ascent's negated
    /// gradient estimate (Salimans et al.'s `l2coeff`); 0 turns it off.
    public var weightDecay: Double
    /// Episodes each perturbed candidate runs (its fitness is their mean return).
    public var episodesPerCandidate: Int
    /// The unperturbed theta_d is evaluated every `evaluationInterval` iterations (and
    /// after the last) on `evaluationEpisodes` fixed episodes.
    public var evaluationInterval: Int
    public var evaluationEpisodes: Int
    /// Seeds the perturbations and the episodes (theta0 and P have their own seeds).
    public var seed: UInt64
    /// Threads running episodes at once. Results do not depend on it.
    public var threads: Int

    public init(
        iterations: Int = 100, pairs: Int = 10, sigma: Double = 0.1, learningRate: Double = 0.03,
        beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7, weightDecay: Double = 0,
        episodesPerCandidate: Int = 1, evaluationInterval: Int = 5, evaluationEpisodes: Int = 10,
        seed: UInt64 = 0, threads: Int = ParallelLoop.defaultThreads
    ) {
        self.iterations = iterations
        self.pairs = pairs
        self.sigma = sigma
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.episodesPerCandidate = episodesPerCandidate
        self.evaluationInterval = evaluationInterval
        self.evaluationEpisodes = evaluationEpisodes
        self.seed = seed
        self.threads = threads
    }

    /// - Throws: `ReinforcementError.invalid` naming the first setting out of range.
    public func validate() throws(ReinforcementError) {
        guard iterations >= 1 else { throw .invalid("iterations must be at least 1") }
        guard pairs >= 1, pairs <= 1 << 20 else { throw .invalid("pairs must be 1 ... 1048576") }
        guard sigma.isFinite, sigma > 0 else { throw .invalid("sigma must be a positive number") }
        guard learningRate.isFinite, learningRate > 0 else { throw .invalid("the learning rate must be a positive number") }
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else { throw .invalid("Adam's betas must be in [0, 1)") }
        guard epsilon.isFinite, epsilon > 0 else { throw .invalid("Adam's epsilon must be a positive number") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw .invalid("the weight decay must be a number >= 0") }
        guard episodesPerCandidate >= 1, evaluationEpisodes >= 1, evaluationInterval >= 1 else {
            throw .invalid("episodes per candidate, evaluation episodes and the evaluation interval must be at least 1")
        }
        guard threads >= 1 else { throw .invalid("threads must be at least 1") }
    }
}

/// One evaluation of the unperturbed theta_d during training.
public struct EvolutionStrategiesEvaluation: Sendable, Equatable {
    /// Iterations done before it (0: the initial policy).
    public var iteration: Int
    /// The mean and the population standard deviation of the evaluation episodes' returns.
    public var meanReturn: Double
    public var standardDeviation: Double
}

/// What `EvolutionStrategies.train` returns.
public struct EvolutionStrategiesResult: Sendable {
    /// theta_d at the best evaluation (the paper's performance: the maximum over training
    /// of the mean evaluation return), and that evaluation.
    public var bestThetaD: [Float]
    public var best: EvolutionStrategiesEvaluation
    /// theta_d after the last iteration.
    public var finalThetaD: [Float]
    /// Every evaluation, in order (the first is the initial policy's).
    public var evaluations: [EvolutionStrategiesEvaluation]
    /// Episodes and environment steps run in all (training and evaluation).
    public var episodes: Int
    public var steps: Int
}

/// Evolution strategies (Salimans et al. 2017, "Evolution Strategies as a Scalable
/// Alternative to Reinforcement Learning", Sec. 2 and Algorithm 2) training only theta_d
/// of theta = theta0 + P theta_d (Li et al. 2018, Sec. 3.3 and S6.2), or all of theta
/// (P = identity, theta_d = theta - theta0: direct training).
///
/// Iteration t (0-based), with d = theta_d's length and n = `pairs`:
/// 1. eps_i (i < n), d standard normals each: normal (i d + k) of the Philox stream
///    (seed = configuration seed, purpose `esPerturbation` (40), sub-stream t).
/// 2. Candidates theta_d + sigma eps_i and theta_d - sigma eps_i (antithetic) each run
///    `episodesPerCandidate` episodes; both members of pair i share their episode seeds:
///    64-bit value (i e + j) of (seed, purpose `episodeSeed` (41), sub-stream t) for episode j.
///    A candidate's fitness is its mean return.
/// 3. Centered ranks of the 2n fitnesses: rank r in 0 ... 2n-1 (ties get their mean rank,
///    so equal returns give no gradient), weight r / (2n - 1) - 1/2.
/// 4. The ascent estimate g = (1 / 2n) sum_i (w+_i - w-_i) eps_i (Salimans et al.'s
///    normalisation, without 1/sigma); Adam minimises with gradient -g + weightDecay theta_d
///    (theta_d kept in float64, starting at 0).
/// Every `evaluationInterval` iterations and after the last, the unperturbed theta_d runs
/// `evaluationEpisodes` episodes with the fixed seeds (seed, `episodeSeed`, sub-stream
/// 2^32 - 1); the best mean is the run's performance.
///
/// Episodes run in parallel (`ParallelLoop`); every random number is addressed by
/// (iteration, pair, component), and the sums run in a fixed order, so the result is the
/// same for any thread count.
public struct EvolutionStrategies<Environment: ReinforcementEnvironment>: Sendable {
    public let environment: Environment
    public let architecture: Architecture
    public let configuration: EvolutionStrategiesConfiguration
    private let reparameterization: Reparameterization

    /// Sub-stream of the evaluation episodes' seeds.
    public static var evaluationSubstream: UInt32 { .max }

    /// - Parameters:
    ///   - environment: a prototype environment value, copied for every episode.
    ///   - architecture: the policy network (see `NetworkPolicy` for how outputs act).
    ///   - theta0Seed: theta0's seed (the `.idz` file's; `InitialWeights`).
    ///   - projection: P's kind, seed and d; nil trains all D parameters directly.
    /// - Throws: `ReinforcementError.invalid` for a network that does not fit the task, d
    ///   outside 1 ... D, or settings out of range.
    public init(
        environment: Environment, architecture: Architecture, theta0Seed: UInt64, projection: ProjectionSpec?,
        configuration: EvolutionStrategiesConfiguration
    ) throws(ReinforcementError) {
        try configuration.validate()
        try NetworkPolicy.check(
            architecture: architecture, observationCount: environment.observationCount, actionSpace: environment.actionSpace)
        let tensors: [TensorSpec]
        do { tensors = try architecture.parameterTensors() } catch { throw .invalid("\(error)") }
        let count = tensors.reduce(0) { $0 + $1.count }
        let spec = projection ?? ProjectionSpec(kind: .identity, seed: 0, dimension: count)
        guard spec.dimension >= 1, spec.dimension <= count, spec.kind != .identity || spec.dimension == count else {
            throw .invalid("the subspace dimension must be 1 ... \(count) (D), and D for the identity projection")
        }
        self.environment = environment
        self.architecture = architecture
        self.configuration = configuration
        reparameterization = Reparameterization(
            theta0: .values(InitialWeights.make(tensors: tensors, seed: theta0Seed, threads: configuration.threads)),
            projection: makeProjection(
                kind: spec.kind, rowCount: count, columnCount: spec.dimension, seed: spec.seed, threads: 1))
    }

    /// d.
    public var dimension: Int { reparameterization.dimension }
    /// D.
    public var parameterCount: Int { reparameterization.parameterCount }

    /// theta (D floats) for theta_d (d floats).
    public func theta(_ thetaD: [Float]) -> [Float] { reparameterization.theta(thetaD, threads: 1) }

    /// The policy of theta_d.
    public func policy(_ thetaD: [Float]) -> NetworkPolicy {
        // The network was checked in init, so this cannot fail.
        try! NetworkPolicy(
            architecture: architecture, theta: theta(thetaD), observationCount: environment.observationCount,
            actionSpace: environment.actionSpace)
    }

    /// Runs `seeds.count` episodes of the policy of theta_d in parallel.
    public func episodes(thetaD: [Float], seeds: [UInt64]) -> [EpisodeOutcome] {
        var outcomes = [EpisodeOutcome](repeating: EpisodeOutcome(totalReturn: 0, steps: 0, terminated: false), count: seeds.count)
        outcomes.withUnsafeMutableBufferPointer { results in
            let target = UncheckedOutcomes(results)
            ParallelLoop.forEach(pieces: seeds.count, threads: configuration.threads) { index in
                var environment = self.environment
                target.buffer[index] = environment.runEpisode(policy: policy(thetaD), seed: seeds[index])
            }
        }
        return outcomes
    }

    /// The evaluation episodes' seeds.
    public func evaluationSeeds() -> [UInt64] {
        let stream = RandomStream(seed: configuration.seed, purpose: .episodeSeed, substream: Self.evaluationSubstream)
        return (0..<configuration.evaluationEpisodes).map { stream.uint64(UInt64($0)) }
    }

    /// Trains theta_d from 0.
    /// - Parameter progress: called after each evaluation (on the calling thread).
    public func train(progress: ((EvolutionStrategiesEvaluation) -> Void)? = nil) -> EvolutionStrategiesResult {
        let d = dimension
        let n = configuration.pairs
        let e = configuration.episodesPerCandidate
        let sigma = configuration.sigma
        var thetaD = [Double](repeating: 0, count: d)
        var adam = AdamState(count: d)
        var evaluations: [EvolutionStrategiesEvaluation] = []
        var best: (EvolutionStrategiesEvaluation, [Float])? = nil
        var episodeCount = 0
        var stepCount = 0
        let evaluationSeeds = evaluationSeeds()

        func evaluate(iteration: Int) {
            let current = thetaD.map(Float.init)
            let outcomes = episodes(thetaD: current, seeds: evaluationSeeds)
            episodeCount += outcomes.count
            stepCount += outcomes.reduce(0) { $0 + $1.steps }
            let returns = outcomes.map(\.totalReturn)
            let mean = returns.reduce(0, +) / Double(returns.count)
            let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count)
            let evaluation = EvolutionStrategiesEvaluation(iteration: iteration, meanReturn: mean, standardDeviation: variance.squareRoot())
            evaluations.append(evaluation)
            if best == nil || mean > best!.0.meanReturn { best = (evaluation, current) }
            progress?(evaluation)
        }

        evaluate(iteration: 0)
        for iteration in 0..<configuration.iterations {
            let noise = RandomStream(seed: configuration.seed, purpose: .esPerturbation, substream: UInt32(truncatingIfNeeded: iteration))
            let seedStream = RandomStream(seed: configuration.seed, purpose: .episodeSeed, substream: UInt32(truncatingIfNeeded: iteration))
            // Candidate c = 2 i + (0: plus, 1: minus); its episodes are pieces c e + j.
            var outcomes = [EpisodeOutcome](repeating: EpisodeOutcome(totalReturn: 0, steps: 0, terminated: false), count: 2 * n * e)
            outcomes.withUnsafeMutableBufferPointer { results in
                let target = UncheckedOutcomes(results)
                ParallelLoop.forEach(pieces: 2 * n, threads: configuration.threads) { candidate in
                    let pair = candidate / 2
                    let sign: Double = candidate % 2 == 0 ? 1 : -1
                    let perturbed = (0..<d).map { k in
                        Float(thetaD[k] + sign * sigma * noise.normal(UInt64(pair * d + k)))
                    }
                    let policy = policy(perturbed)
                    for j in 0..<e {
                        var environment = self.environment
                        target.buffer[candidate * e + j] = environment.runEpisode(
                            policy: policy, seed: seedStream.uint64(UInt64(pair * e + j)))
                    }
                }
            }
            episodeCount += outcomes.count
            stepCount += outcomes.reduce(0) { $0 + $1.steps }
            let fitness = (0..<(2 * n)).map { candidate in
                (0..<e).reduce(0.0) { $0 + outcomes[candidate * e + $1].totalReturn } / Double(e)
            }
            let weights = Self.centeredRanks(fitness)
            var gradient = [Double](repeating: 0, count: d)
            for pair in 0..<n {
                let difference = weights[2 * pair] - weights[2 * pair + 1]
                if difference == 0 { continue }
                for k in 0..<d { gradient[k] += difference * noise.normal(UInt64(pair * d + k)) }
            }
            for k in 0..<d {
                gradient[k] = -gradient[k] / Double(2 * n) + configuration.weightDecay * thetaD[k]
            }
            adam.step(&thetaD, gradient: gradient, configuration: configuration)
            if (iteration + 1) % configuration.evaluationInterval == 0 || iteration + 1 == configuration.iterations {
                evaluate(iteration: iteration + 1)
            }
        }
        return EvolutionStrategiesResult(
            bestThetaD: best!.1, best: best!.0, finalThetaD: thetaD.map(Float.init), evaluations: evaluations,
            episodes: episodeCount, steps: stepCount)
    }

    /// Centered ranks (Salimans et al. 2017, Sec. 2.1 "fitness shaping"): the rank of each
    /// value (0 for the smallest; tied values share the mean of their ranks), mapped to
    /// rank / (count - 1) - 1/2, in [-1/2, 1/2]. One value gets 0.
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

/// Adam (Kingma & Ba 2015) in float64, as Salimans et al.'s ES code applies it:
/// step = lr sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v) + epsilon).
struct AdamState {
    var first: [Double]
    var second: [Double]
    /// beta1^t and beta2^t, by repeated multiplication (no libm: the same bits everywhere).
    var beta1Power = 1.0
    var beta2Power = 1.0

    init(count: Int) {
        first = [Double](repeating: 0, count: count)
        second = [Double](repeating: 0, count: count)
    }

    mutating func step(_ values: inout [Double], gradient: [Double], configuration c: EvolutionStrategiesConfiguration) {
        beta1Power *= c.beta1
        beta2Power *= c.beta2
        let scale = c.learningRate * (1 - beta2Power).squareRoot() / (1 - beta1Power)
        for k in values.indices {
            first[k] = c.beta1 * first[k] + (1 - c.beta1) * gradient[k]
            second[k] = c.beta2 * second[k] + (1 - c.beta2) * gradient[k] * gradient[k]
            values[k] -= scale * first[k] / (second[k].squareRoot() + c.epsilon)
        }
    }
}

/// Lets parallel pieces write disjoint elements of one buffer.
private struct UncheckedOutcomes: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<EpisodeOutcome>
    init(_ buffer: UnsafeMutableBufferPointer<EpisodeOutcome>) { self.buffer = buffer }
}
