import IdzipCore

/// The inverted pendulum on a cart, simulated by MuJoCo: the standard task of Gymnasium's
/// `InvertedPendulum-v5` (OpenAI Gym's `InvertedPendulum-v1` that the paper trains with
/// evolution strategies: Li et al. 2018, Sec. 3.3, Fig. 5 and Table 1, d_int90 = 4).
///
/// - Model: `InvertedPendulum.modelXML`, written for idzip to the task's dimensions: a cart
///   on a slider limited to x in [-1, 1] m, a 0.6 m capsule pole (radius 0.049 m) on an
///   unactuated hinge limited to [-90, 90] degrees, joint damping 1, a motor on the slider
///   with gear 100 and control range [-3, 3]; gravity 9.81 m/s^2, RK4 with a 0.02 s step.
/// - Observation: (cart position m, pole angle rad, cart velocity m/s, pole angular velocity
///   rad/s), MuJoCo's (qpos, qvel).
/// - Action: one value, the motor control, clipped to [-3, 3].
/// - Step: `frameSkip` = 2 MuJoCo steps (0.04 s), as Gymnasium.
/// - Reward: +1 for every step after which the pendulum is alive, 0 for the step that ends
///   it (Gymnasium v5's rule).
/// - Termination: |angle| > 0.2 rad or a non-finite observation; truncation after
///   `maxEpisodeSteps` = 1000 steps.
/// - Reset: qpos and qvel each uniform in [-0.01, 0.01] (Gymnasium's `reset_noise_scale`),
///   drawn from Philox: stream (seed = the episode's seed, purpose `environmentReset` (24),
///   sub-stream 0), value i = -0.01 + 0.02 U_i where U_i is float64 uniform i, in the order
///   qpos[0], qpos[1], qvel[0], qvel[1].
///
/// Gymnasium runs the same physics on MuJoCo 3 or later (PyPI `mujoco`); idzip links the
/// Debian library (2.2.2). Tests/python/test_inverted_pendulum.py measures the agreement.
public struct InvertedPendulum: ReinforcementEnvironment {
    public static let name = "inverted-pendulum"

    /// The MuJoCo model (MJCF): the task's bodies, joints and actuator at Gymnasium's
    /// dimensions (its `inverted_pendulum.xml`), without the purely visual rail and colours.
    public static let modelXML = """
        <mujoco model="idzip inverted pendulum">
          <compiler inertiafromgeom="true" angle="degree"/>
          <option gravity="0 0 -9.81" integrator="RK4" timestep="0.02"/>
          <default>
            <joint armature="0" damping="1" limited="true"/>
            <geom contype="0" conaffinity="1" friction="1 0.1 0.1" density="1000"/>
          </default>
          <worldbody>
            <body name="cart" pos="0 0 0">
              <joint name="slider" type="slide" axis="1 0 0" pos="0 0 0" range="-1 1"/>
              <geom name="cart" type="capsule" pos="0 0 0" quat="0.707 0 0.707 0" size="0.1 0.1"/>
              <body name="pole" pos="0 0 0">
                <joint name="hinge" type="hinge" axis="0 1 0" pos="0 0 0" range="-90 90"/>
                <geom name="pole" type="capsule" fromto="0 0 0 0.001 0 0.6" size="0.049 0.3"/>
              </body>
            </body>
          </worldbody>
          <actuator>
            <motor name="slide" joint="slider" gear="100" ctrllimited="true" ctrlrange="-3 3"/>
          </actuator>
        </mujoco>
        """

    /// MuJoCo steps per environment step (Gymnasium's `frame_skip`).
    public static let frameSkip = 2
    /// The half-width of the uniform initial-state noise (Gymnasium's `reset_noise_scale`).
    public static let resetNoise = 0.01
    /// The pole angle (rad) beyond which the episode terminates.
    public static let angleLimit = 0.2

    /// The version of the MuJoCo library linked, e.g. "2.2.2".
    public static var mujocoVersion: String { MujocoModel.libraryVersion }

    /// The compiled model, shared read-only by every environment value.
    private static let sharedModel: Result<MujocoModel, ReinforcementError> = {
        Result { () throws(ReinforcementError) in try MujocoModel(xml: modelXML) }
    }()

    private var state: MujocoState
    private var steps = 0

    public var observationCount: Int { 4 }
    public var actionSpace: ActionSpace { .continuous(count: 1, low: -3, high: 3) }
    public var maxEpisodeSteps: Int { 1000 }

    /// An environment at the model's rest state (call `reset(seed:)` to start an episode).
    /// - Throws: `ReinforcementError.simulator` when MuJoCo cannot compile the model.
    public init() throws(ReinforcementError) {
        state = MujocoState(model: try Self.sharedModel.get())
    }

    /// The seconds one step spans: `frameSkip` x the model's timestep (0.04 s).
    public var stepDuration: Double { Double(Self.frameSkip) * state.model.timestep }

    /// The current observation (qpos, qvel).
    public var observation: [Double] { state.positions + state.velocities }

    /// The whole simulation state that the episode depends on: qpos and qvel (the
    /// observation; MuJoCo's other state, actuator activations and warm starts, is empty or
    /// unused for this model).
    public var fullState: [Double] { observation }

    public mutating func reset(seed: UInt64) -> [Double] {
        let stream = RandomStream(seed: seed, purpose: .environmentReset)
        let noise = (0..<4).map { -Self.resetNoise + 2 * Self.resetNoise * stream.uniformDouble(UInt64($0)) }
        return reset(positions: Array(noise[0..<2]), velocities: Array(noise[2..<4]))
    }

    /// Starts an episode from a given state (tests, and comparisons with Gymnasium).
    public mutating func reset(positions: [Double], velocities: [Double]) -> [Double] {
        copyIfShared()
        state.set(positions: positions, velocities: velocities)
        steps = 0
        return observation
    }

    public mutating func step(_ action: [Double]) -> EnvironmentStep {
        precondition(action.count == 1, "InvertedPendulum takes one action value")
        copyIfShared()
        let control = action[0].isNaN ? 0 : min(3, max(-3, action[0]))
        state.advance(controls: [control], steps: Self.frameSkip)
        steps += 1
        let observation = self.observation
        let terminated = !observation.allSatisfy(\.isFinite) || abs(observation[1]) > Self.angleLimit
        return EnvironmentStep(
            observation: observation, reward: terminated ? 0 : 1,
            terminated: terminated, truncated: !terminated && steps >= maxEpisodeSteps)
    }

    private mutating func copyIfShared() {
        if !isKnownUniquelyReferenced(&state) { state = MujocoState(copying: state) }
    }
}
