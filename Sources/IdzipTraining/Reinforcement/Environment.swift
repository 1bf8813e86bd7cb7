import Foundation

/// One step's outcome in an episodic control task (Gymnasium's `step` contract).
public struct EnvironmentStep: Sendable, Equatable {
    /// The observation after the action, `observationCount` values.
    public var observation: [Double]
    /// The reward for the action (Gymnasium's units: +1 per step for CartPole-v1).
    public var reward: Double
    /// The task ended (the pole fell, the cart left the track, ...): no bootstrap past it.
    public var terminated: Bool
    /// The episode was cut by its time limit (CartPole-v1: 500 steps): not a terminal state.
    public var truncated: Bool

    public init(observation: [Double], reward: Double, terminated: Bool, truncated: Bool) {
        self.observation = observation
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }
}

/// What a policy may do: one of `count` discrete actions, or a vector of `count` real
/// values each within `low...high`.
public enum ActionSpace: Sendable, Equatable {
    case discrete(count: Int)
    case continuous(count: Int, low: Double, high: Double)

    /// The network outputs a policy needs: one per discrete action (Q-values or logits),
    /// or one per continuous component.
    public var outputCount: Int {
        switch self {
        case .discrete(let count): count
        case .continuous(let count, _, _): count
        }
    }
}

/// An episodic control task for reinforcement learning in a subspace (Li et al. 2018,
/// Sec. 3.4 and Table 1: CartPole, InvertedPendulum, Humanoid, Pong).
///
/// Deterministic: `reset(seed:)` fixes every random draw of the episode (initial state and any
/// noise) from Philox, so an episode is reproduced exactly from its seed and the actions.
/// An environment value holds one episode's state; make one per thread.
public protocol ReinforcementEnvironment: Sendable {
    /// The name `--env` takes ("cartpole", "inverted-pendulum").
    static var name: String { get }
    /// Values in an observation.
    var observationCount: Int { get }
    var actionSpace: ActionSpace { get }
    /// The longest episode in steps (the time limit that sets `truncated`).
    var maxEpisodeSteps: Int { get }
    /// Starts an episode; returns the first observation.
    mutating func reset(seed: UInt64) -> [Double]
    /// Applies an action: for `.discrete`, `action` holds one value, the index as a Double;
    /// for `.continuous`, `count` values (clipped to the bounds by the environment).
    mutating func step(_ action: [Double]) -> EnvironmentStep
    /// The smallest return an episode can have. The paper's performance for reinforcement
    /// learning is the return shifted so that this minimum is 0 (Li et al. 2018, Sec. 2):
    /// performance = mean return - `returnFloor`. 0 for tasks whose rewards are never
    /// negative (CartPole-v1, InvertedPendulum: +1 per step), where the shift is nothing.
    var returnFloor: Double { get }
    /// The complete float64 state (CartPole: x, x_dot, theta, theta_dot), for traces that
    /// compare the dynamics with a reference; empty when the environment does not expose it.
    var fullState: [Double] { get }
}

extension ReinforcementEnvironment {
    public var returnFloor: Double { 0 }
    public var fullState: [Double] { [] }
}

/// The environments `--env` names, and how to make one.
public enum EnvironmentKind: String, Sendable, CaseIterable, Hashable {
    case cartpole
    /// InvertedPendulum on MuJoCo (Debian's libmujoco, 2.2.2).
    case invertedPendulum = "inverted-pendulum"

    /// A new environment (one per thread; reset it before stepping).
    /// - Precondition: `makeChecked()` succeeded once (MuJoCo compiled the model; it is
    ///   compiled once per process and shared), as `ReinforcementTask.validate()` checks.
    public func make() -> any ReinforcementEnvironment {
        do {
            return try makeChecked()
        } catch {
            fatalError("\(rawValue): \(error)")
        }
    }

    /// A new environment.
    /// - Throws: `TrainingError.configuration` with the simulator's message when a MuJoCo
    ///   model cannot be compiled (e.g. no writable temporary directory).
    public func makeChecked() throws(TrainingError) -> any ReinforcementEnvironment {
        switch self {
        case .cartpole:
            return CartPole()
        case .invertedPendulum:
            do {
                return try InvertedPendulum()
            } catch {
                throw .configuration("inverted-pendulum: \(error.description)")
            }
        }
    }

    /// What the environment is, for reports and model metadata ("CartPole-v1 (Gymnasium)").
    public var title: String {
        switch self {
        case .cartpole: "CartPole-v1 (Gymnasium)"
        case .invertedPendulum: "InvertedPendulum-v5 (Gymnasium's task on MuJoCo \(InvertedPendulum.mujocoVersion))"
        }
    }

    /// "cartpole" or a one-line error naming the environments there are.
    public init(name: String) throws(TrainingError) {
        guard let kind = EnvironmentKind(rawValue: name.lowercased()) else {
            throw .configuration("'\(name)' is not an environment; use \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = kind
    }
}
