import IdzipCore

/// A deterministic policy: a network with fixed parameters theta, run by idzip's inference
/// code (the same forward pass as `idzip eval`) on one observation at a time.
///
/// The observation (float64) is rounded to float32 and fed to the network unchanged (no
/// normalisation). The network's outputs become an action as follows:
/// - `.discrete(count)`: the network has `count` outputs; the action is the index of the
///   largest (the first on ties): greedy on Q-values or logits.
/// - `.continuous(count, low, high)` with `count` outputs: each output, clipped to
///   [low, high] (the paper's ES policies act on the MuJoCo control directly).
/// - `.continuous(count, low, high)` with `bins x count` outputs (bins >= 2): each action
///   component c takes the largest of outputs c*bins ..< (c+1)*bins, index i, and acts
///   low + (high - low) i / (bins - 1): the "uniform bins" action discretisation of the
///   ES code of Salimans et al. (2017) (`ac_bins = "uniform:k"`), which also makes the
///   paper's D = 562 InvertedPendulum network, fc:4-20-20-2 (two bins: -3 and +3).
public struct NetworkPolicy {
    public let actionSpace: ActionSpace
    /// Outputs per action component (1 for clipped continuous outputs, `count` for discrete).
    public let bins: Int
    private let pass: ForwardPass
    private let theta: [Float]

    /// - Parameters:
    ///   - architecture: a network whose input width is the observation's and whose
    ///     outputs fit `actionSpace` as above.
    ///   - theta: its D parameters.
    /// - Throws: `ReinforcementError.invalid` when the network does not fit the task.
    public init(architecture: Architecture, theta: [Float], observationCount: Int, actionSpace: ActionSpace) throws(ReinforcementError) {
        try Self.check(architecture: architecture, observationCount: observationCount, actionSpace: actionSpace)
        let plan: NetworkPlan
        do {
            plan = try NetworkPlan(architecture)
            pass = try ForwardPass(plan: plan, batchCapacity: 1)
        } catch {
            throw .invalid("the policy network cannot run: \(error)")
        }
        guard theta.count == plan.parameterCount else {
            throw .invalid("the policy needs \(plan.parameterCount) parameters, not \(theta.count)")
        }
        self.theta = theta
        self.actionSpace = actionSpace
        switch actionSpace {
        case .discrete(let count): bins = count
        case .continuous(let count, _, _): bins = plan.classCount / count
        }
    }

    /// Checks that `architecture` can act in a task with these observations and actions.
    /// - Throws: `ReinforcementError.invalid` naming what does not fit.
    public static func check(architecture: Architecture, observationCount: Int, actionSpace: ActionSpace) throws(ReinforcementError) {
        let plan: NetworkPlan
        do { plan = try NetworkPlan(architecture) } catch { throw .invalid("the policy network cannot run: \(error)") }
        guard plan.inputCount == observationCount else {
            throw .invalid("the policy network takes \(plan.inputCount) inputs; the environment observes \(observationCount) values")
        }
        let outputs = plan.classCount
        switch actionSpace {
        case .discrete(let count):
            guard outputs == count else {
                throw .invalid("the policy network has \(outputs) outputs; the environment has \(count) actions")
            }
        case .continuous(let count, _, _):
            guard outputs % count == 0 else {
                throw .invalid("the policy network has \(outputs) outputs; the environment needs \(count) action values (or a multiple, for action bins)")
            }
        }
    }

    /// The action for one observation.
    public func action(for observation: [Double]) -> [Double] {
        for (index, value) in observation.enumerated() { pass.input[index] = Float(value) }
        theta.withUnsafeBufferPointer { pass.run(theta: $0.baseAddress!, batch: 1, threads: 1) }
        let outputs = pass.logits
        switch actionSpace {
        case .discrete(let count):
            return [Double(SoftmaxCrossEntropy.argmax(outputs.baseAddress!, count: count))]
        case .continuous(let count, let low, let high):
            if bins == 1 {
                return (0..<count).map { min(high, max(low, Double(outputs[$0]))) }
            }
            return (0..<count).map { component in
                let index = SoftmaxCrossEntropy.argmax(outputs.baseAddress! + component * bins, count: bins)
                return low + (high - low) * Double(index) / Double(bins - 1)
            }
        }
    }
}

/// One finished episode.
public struct EpisodeOutcome: Sendable, Equatable {
    /// The sum of the rewards.
    public var totalReturn: Double
    /// Steps taken.
    public var steps: Int
    /// Whether it ended by termination (not by the time limit).
    public var terminated: Bool
}

extension ReinforcementEnvironment {
    /// Runs one episode from `reset(seed:)` until it terminates or is truncated (at the
    /// latest after `maxEpisodeSteps` steps).
    public mutating func runEpisode(policy: NetworkPolicy, seed: UInt64) -> EpisodeOutcome {
        var observation = reset(seed: seed)
        var total = 0.0
        for stepIndex in 1...maxEpisodeSteps {
            let result = step(policy.action(for: observation))
            total += result.reward
            observation = result.observation
            if result.terminated || result.truncated || stepIndex == maxEpisodeSteps {
                return EpisodeOutcome(totalReturn: total, steps: stepIndex, terminated: result.terminated)
            }
        }
        return EpisodeOutcome(totalReturn: total, steps: 0, terminated: false)
    }
}
