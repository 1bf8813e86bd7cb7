import Foundation
import IdzipCore

/// A network acting in an environment: the observation (float64, rounded to float32) is the
/// network's input and the outputs pick the action: for a discrete action space, the index of
/// the largest output (the greedy policy of a Q-network; the first on ties); for a continuous
/// one of `count` components, either
/// - `count` outputs: the outputs themselves (the environment clips them to its bounds), or
/// - `bins x count` outputs (bins >= 2): component c takes the index i of the largest of
///   outputs c bins ..< (c + 1) bins and acts low + (high - low) i / (bins - 1): the
///   "uniform bins" discretisation of Salimans et al.'s ES code (`ac_bins = "uniform:k"`),
///   which also gives the paper's D = 562 InvertedPendulum network, fc:4-20-20-2 (actions -3, +3).
///
/// One forward pass of one observation on one thread; not thread-safe (make one per thread).
public final class PolicyNetwork {
    package let plan: NetworkPlan
    private let forward: ForwardPass
    public let actionSpace: ActionSpace

    /// - Throws: `TrainingError.network` when the network cannot be built or its input and
    ///   output sizes do not match the environment's observation and actions.
    /// Outputs per action component: 1, or the bins of a discretised continuous action
    /// (for a discrete action space, the number of actions).
    public let bins: Int

    public convenience init(architecture: Architecture, environment: EnvironmentKind) throws(TrainingError) {
        let sample = try environment.makeChecked()
        try self.init(architecture: architecture, observationCount: sample.observationCount, actionSpace: sample.actionSpace, name: environment.rawValue)
    }

    /// A policy for any environment with these observations and actions.
    public init(architecture: Architecture, observationCount: Int, actionSpace: ActionSpace, name: String = "the environment") throws(TrainingError) {
        do {
            plan = try NetworkPlan(architecture)
            forward = try ForwardPass(plan: plan, batchCapacity: 1)
        } catch {
            throw .network(error.description)
        }
        self.actionSpace = actionSpace
        try Self.check(plan: plan, observationCount: observationCount, actionSpace: actionSpace, name: name)
        bins = plan.classCount / actionSpace.outputCount
    }

    /// Refuses a network whose input is not the observation or whose outputs are not one per
    /// action (or, for continuous actions, a multiple: bins).
    static func check(plan: NetworkPlan, environment: EnvironmentKind) throws(TrainingError) {
        let sample = try environment.makeChecked()
        try check(plan: plan, observationCount: sample.observationCount, actionSpace: sample.actionSpace, name: environment.rawValue)
    }

    static func check(plan: NetworkPlan, observationCount: Int, actionSpace: ActionSpace, name: String) throws(TrainingError) {
        // A policy acts on one observation at a time: no batch statistics, no training-time masks.
        guard !plan.hasBatchNorm, !plan.hasDropout else {
            throw .configuration("a policy network cannot have batch normalisation or dropout (it acts on one observation at a time)")
        }
        let outputs = actionSpace.outputCount
        let fits: Bool
        switch actionSpace {
        case .discrete: fits = plan.classCount == outputs
        case .continuous: fits = plan.classCount >= outputs && plan.classCount % outputs == 0
        }
        guard plan.inputCount == observationCount, fits else {
            let multiple = { if case .continuous = actionSpace { return " (or a multiple, for action bins)" } else { return "" } }()
            throw .configuration(
                "\(name) observes \(observationCount) values and takes \(outputs) outputs\(multiple), "
                    + "but the model has \(plan.inputCount) inputs and \(plan.classCount) outputs "
                    + "(use fc:\(observationCount)-...-\(outputs))")
        }
    }

    /// The network's outputs (Q-values) for one observation under parameters `theta`.
    public func outputs(_ observation: [Double], theta: UnsafePointer<Float>) -> [Float] {
        run(observation, theta: theta)
        return Array(UnsafeBufferPointer(start: forward.logits.baseAddress!, count: plan.classCount))
    }

    /// The action for `observation` under parameters `theta` (D floats).
    public func action(_ observation: [Double], theta: UnsafePointer<Float>) -> [Double] {
        run(observation, theta: theta)
        switch actionSpace {
        case .discrete(let count):
            return [Double(SoftmaxCrossEntropy.argmax(forward.logits.baseAddress!, count: count))]
        case .continuous(let count, let low, let high):
            if bins == 1 { return (0..<count).map { Double(forward.logits[$0]) } }
            return (0..<count).map { component in
                let index = SoftmaxCrossEntropy.argmax(forward.logits.baseAddress! + component * bins, count: bins)
                return low + (high - low) * Double(index) / Double(bins - 1)
            }
        }
    }

    private func run(_ observation: [Double], theta: UnsafePointer<Float>) {
        for (i, value) in observation.enumerated() { forward.input[i] = Float(value) }
        forward.run(theta: theta, batch: 1, threads: 1)
    }
}

/// Mean, spread and extremes of the returns of some episodes.
public struct ReturnStatistics: Sendable, Hashable, Codable {
    /// Each episode's return, in episode order.
    public var returns: [Double]
    /// Each episode's length in steps.
    public var lengths: [Int]

    public init(returns: [Double], lengths: [Int]) {
        self.returns = returns
        self.lengths = lengths
    }

    public var episodes: Int { returns.count }
    /// Summed in episode order.
    public var mean: Double { returns.isEmpty ? 0 : returns.reduce(0, +) / Double(returns.count) }
    /// Population standard deviation (divisor n, NumPy's default).
    public var standardDeviation: Double {
        guard !returns.isEmpty else { return 0 }
        let mean = self.mean
        return (returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count)).squareRoot()
    }
    public var minimum: Double { returns.min() ?? 0 }
    public var maximum: Double { returns.max() ?? 0 }
}

/// One step of an episode as a trace records it.
public struct TraceStep: Sendable, Hashable, Codable {
    public var action: [Double]
    public var reward: Double
    public var terminated: Bool
    public var truncated: Bool
    /// The environment's full float64 state after the step (`ReinforcementEnvironment.fullState`).
    public var state: [Double]
    public var observation: [Double]
}

/// One episode as a trace records it: its seed, the full initial state and every step.
public struct EpisodeTrace: Sendable, Hashable, Codable {
    public var episode: Int
    public var seed: UInt64
    public var initialState: [Double]
    public var initialObservation: [Double]
    public var steps: [TraceStep]
}

/// Runs a fixed policy for whole episodes, in parallel over episodes.
///
/// Episode k's seed is the 64-bit value k of the stream (seed, purpose `episodeSeed` = 25,
/// sub-stream 1); each episode runs on one thread with its own environment and network, so the
/// returns are the same for any thread count.
public enum PolicyEvaluation {
    /// The seed of evaluation episode `episode` under `seed`.
    public static func episodeSeed(_ seed: UInt64, episode: Int) -> UInt64 {
        RandomStream(seed: seed, purpose: .episodeSeed, substream: 1).uint64(UInt64(episode))
    }

    /// The returns of `episodes` greedy episodes of the network with parameters `theta`.
    /// - Parameter traces: when non-nil, receives every episode's trace (in episode order).
    /// - Throws: `TrainingError` when the network does not fit the environment.
    public static func run(
        architecture: Architecture, theta: [Float], environment: EnvironmentKind, episodes: Int, seed: UInt64,
        threads: Int, traces: UnsafeMutablePointer<[EpisodeTrace]>? = nil
    ) throws(TrainingError) -> ReturnStatistics {
        var returns = [Double](repeating: 0, count: episodes)
        var lengths = [Int](repeating: 0, count: episodes)
        var recorded = [EpisodeTrace?](repeating: nil, count: traces == nil ? 0 : episodes)
        let record = traces != nil
        var failure: TrainingError?
        let lock = NSLock()
        returns.withUnsafeMutableBufferPointer { returns in
            lengths.withUnsafeMutableBufferPointer { lengths in
                recorded.withUnsafeMutableBufferPointer { recorded in
                    theta.withUnsafeBufferPointer { theta in
                        ParallelLoop.forEach(pieces: episodes, threads: threads) { episode in
                            do throws(TrainingError) {
                                let policy = try PolicyNetwork(architecture: architecture, environment: environment)
                                let result = Self.episode(
                                    policy: policy, theta: theta.baseAddress!, environment: environment,
                                    seed: episodeSeed(seed, episode: episode), index: episode, record: record)
                                returns[episode] = result.return
                                lengths[episode] = result.length
                                if record { recorded[episode] = result.trace }
                            } catch {
                                lock.lock()
                                failure = error
                                lock.unlock()
                            }
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
        traces?.pointee = recorded.compactMap { $0 }
        return ReturnStatistics(returns: returns, lengths: lengths)
    }

    /// One episode from the reset of `seed` until it terminates or is truncated.
    static func episode(
        policy: PolicyNetwork, theta: UnsafePointer<Float>, environment: EnvironmentKind, seed: UInt64, index: Int, record: Bool
    ) -> (return: Double, length: Int, trace: EpisodeTrace?) {
        var env = environment.make()
        var observation = env.reset(seed: seed)
        var trace = record
            ? EpisodeTrace(episode: index, seed: seed, initialState: env.fullState, initialObservation: observation, steps: []) : nil
        var total = 0.0
        var length = 0
        while true {
            let action = policy.action(observation, theta: theta)
            let step = env.step(action)
            total += step.reward
            length += 1
            trace?.steps.append(TraceStep(
                action: action, reward: step.reward, terminated: step.terminated, truncated: step.truncated,
                state: env.fullState, observation: step.observation))
            observation = step.observation
            if step.terminated || step.truncated || length >= env.maxEpisodeSteps { break }
        }
        return (total, length, trace)
    }
}
