import IdzipCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gymnasium's `CartPole-v1` (Barto, Sutton and Anderson 1983; the task of Li et al. 2018,
/// Sec. S6.1, there as CartPole-v0): a pole on a cart pushed left or right by 10 N.
///
/// The dynamics, reward, termination and truncation are Gymnasium's
/// (`gymnasium/envs/classic_control/cartpole.py`, Euler integrator, and the `TimeLimit`
/// wrapper of `gymnasium.make("CartPole-v1")`), in float64 with the operations in the same
/// order, so that from the same state and actions the states agree to float64 rounding
/// (`Tests/python/test_cartpole.py` checks this against Gymnasium itself):
/// - state (x, x_dot, theta, theta_dot); the observation is the state rounded to float32, as
///   Gymnasium returns it (values here are those float32 numbers as `Double`);
/// - action 0 pushes left (-10 N), action 1 right (+10 N);
/// - reward 1 for every step, the terminating one included;
/// - terminated when x < -2.4 or x > 2.4 or theta < -12 * 2 pi / 360 or theta > that;
/// - truncated when the step is the 500th of the episode (both flags may be set at once).
///
/// The initial state is uniform in [-0.05, 0.05)^4 like Gymnasium's `np_random.uniform`,
/// but drawn from Philox instead of NumPy's PCG64: component i (0...3) is
/// `-0.05 + 0.1 * u_i`, where u_i is the float64 uniform number i of the stream
/// (seed = the episode's seed, purpose `environmentReset` = 24, sub-stream 0), that is
/// (64-bit value i >> 11) * 2^-53 with 64-bit value i = word 2i | word 2i+1 << 32
/// (Formats/idz-v1.md section 8.3): two uint32 words make one double with 53 random bits.
public struct CartPole: ReinforcementEnvironment {
    public static let name = "cartpole"

    // Gymnasium's constants, computed as its __init__ computes them.
    static let gravity = 9.8
    static let massCart = 1.0
    static let massPole = 0.1
    static let totalMass = massPole + massCart
    static let length = 0.5  // half the pole's length
    static let poleMassLength = massPole * length
    static let forceMagnitude = 10.0
    static let tau = 0.02
    static let thetaThreshold = 12 * 2 * Double.pi / 360
    static let xThreshold = 2.4
    /// `gymnasium.make("CartPole-v1")`'s time limit.
    public static let episodeLimit = 500

    /// (x, x_dot, theta, theta_dot) in float64, as Gymnasium's `env.unwrapped.state`.
    public private(set) var state: [Double] = [0, 0, 0, 0]
    public var fullState: [Double] { state }
    /// Steps taken since the last reset.
    public private(set) var elapsedSteps = 0

    public init() {}

    public var observationCount: Int { 4 }
    public var actionSpace: ActionSpace { .discrete(count: 2) }
    public var maxEpisodeSteps: Int { Self.episodeLimit }

    /// The initial state drawn for `seed` (see the type's documentation).
    public static func initialState(seed: UInt64) -> [Double] {
        let stream = RandomStream(seed: seed, purpose: .environmentReset)
        return (0..<4).map { -0.05 + (0.05 - -0.05) * stream.uniformDouble(UInt64($0)) }
    }

    public mutating func reset(seed: UInt64) -> [Double] {
        reset(state: Self.initialState(seed: seed))
    }

    /// Starts an episode from `state` (four values), as Gymnasium's `env.unwrapped.state = state`.
    public mutating func reset(state: [Double]) -> [Double] {
        precondition(state.count == 4, "CartPole's state has four values")
        self.state = state
        elapsedSteps = 0
        return observation
    }

    /// The state rounded to float32, as Gymnasium observes it.
    public var observation: [Double] { state.map { Double(Float($0)) } }

    public mutating func step(_ action: [Double]) -> EnvironmentStep {
        step(action: action.first == 1 ? 1 : 0)
    }

    /// One Euler step of 0.02 s with action 0 (left) or 1 (right).
    public mutating func step(action: Int) -> EnvironmentStep {
        var x = state[0], xDot = state[1], theta = state[2], thetaDot = state[3]
        let force = action == 1 ? Self.forceMagnitude : -Self.forceMagnitude
        let cosTheta = cos(theta)
        let sinTheta = sin(theta)
        let temp = (force + Self.poleMassLength * (thetaDot * thetaDot) * sinTheta) / Self.totalMass
        let thetaAcc = (Self.gravity * sinTheta - cosTheta * temp)
            / (Self.length * (4.0 / 3.0 - Self.massPole * (cosTheta * cosTheta) / Self.totalMass))
        let xAcc = temp - Self.poleMassLength * thetaAcc * cosTheta / Self.totalMass
        x = x + Self.tau * xDot
        xDot = xDot + Self.tau * xAcc
        theta = theta + Self.tau * thetaDot
        thetaDot = thetaDot + Self.tau * thetaAcc
        state = [x, xDot, theta, thetaDot]
        elapsedSteps += 1
        let terminated = x < -Self.xThreshold || x > Self.xThreshold || theta < -Self.thetaThreshold || theta > Self.thetaThreshold
        return EnvironmentStep(
            observation: observation, reward: 1, terminated: terminated, truncated: elapsedSteps >= Self.episodeLimit)
    }
}
