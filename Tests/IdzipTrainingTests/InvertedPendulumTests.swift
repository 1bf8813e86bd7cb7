import Foundation
import IdzipCore
import IdzipTraining
import Testing

struct InvertedPendulumTests {
    @Test func resetIsDeterministicAndDrawsTheDocumentedStream() throws {
        var environment = try InvertedPendulum()
        let first = environment.reset(seed: 7)
        let stream = RandomStream(seed: 7, purpose: .environmentReset)
        #expect(first == (0..<4).map { -0.01 + 0.02 * stream.uniformDouble(UInt64($0)) })
        #expect(first.allSatisfy { abs($0) <= 0.01 })
        _ = environment.step([3])
        #expect(environment.reset(seed: 7) == first)
        #expect(environment.reset(seed: 8) != first)
    }

    @Test func aStepFollowsThePhysics() throws {
        var environment = try InvertedPendulum()
        #expect(abs(environment.stepDuration - 0.04) < 1e-15)
        #expect(InvertedPendulum.mujocoVersion.hasPrefix("2."))
        // At rest upright with no force: nearly an equilibrium (the pole's axis leans 0.001 m
        // over 0.6 m, as Gymnasium's model, so it starts to fall very slowly).
        _ = environment.reset(positions: [0, 0], velocities: [0, 0])
        var step = environment.step([0])
        #expect(step.observation.allSatisfy { abs($0) < 0.01 } && step.observation[1] > 0)
        #expect(step.reward == 1 && !step.terminated && !step.truncated)
        // Pushing the cart right accelerates it right and tips the pole back (left, negative angle).
        step = environment.step([3])
        #expect(step.observation[0] > 0 && step.observation[2] > 0)
        #expect(step.observation[1] < 0 && step.observation[3] < 0)
        // Actions beyond the bounds are clipped to +-3.
        _ = environment.reset(positions: [0, 0], velocities: [0, 0])
        let clipped = environment.step([100]).observation
        _ = environment.reset(positions: [0, 0], velocities: [0, 0])
        #expect(environment.step([3]).observation == clipped)
        // A tilted pole falls further the way it leans.
        _ = environment.reset(positions: [0, 0.05], velocities: [0, 0])
        step = environment.step([0])
        #expect(step.observation[1] > 0.05 && step.observation[3] > 0)
    }

    @Test func theEpisodeEndsWhenThePoleFallsOrAtTheTimeLimit() throws {
        var environment = try InvertedPendulum()
        _ = environment.reset(seed: 1)
        var steps = 0
        var last: EnvironmentStep
        repeat {
            last = environment.step([3])
            steps += 1
        } while !last.terminated && steps < 1000
        #expect(last.terminated && !last.truncated && steps < 50)
        #expect(abs(last.observation[1]) > InvertedPendulum.angleLimit)
        #expect(last.reward == 0, "no reward for the step that drops the pole (Gymnasium v5)")
        // A balancing linear policy lasts the 1000 steps and is truncated there.
        _ = environment.reset(seed: 1)
        var observation = environment.reset(seed: 1)
        var total = 0.0
        for index in 1...1000 {
            let action = 1.0 * observation[0] + 10 * observation[1] + observation[2] + observation[3]
            last = environment.step([action])
            total += last.reward
            observation = last.observation
            #expect(!last.terminated)
            #expect(last.truncated == (index == 1000))
        }
        #expect(total == 1000)
    }

    @Test func copiesKeepTheirOwnEpisode() throws {
        var original = try InvertedPendulum()
        _ = original.reset(positions: [0, 0.01], velocities: [0, 0])
        var copy = original
        _ = copy.step([3])
        #expect(original.observation == [0, 0.01, 0, 0])
        #expect(copy.observation != original.observation)
    }

    /// Gymnasium's InvertedPendulum-v5 (PyPI mujoco, version in the fixture) under fixed
    /// linear policies, replayed here on Debian's MuJoCo 2.2.2: the same rewards, lengths and
    /// terminations, and states that agree closely (Tests/python/test_inverted_pendulum.py
    /// records the fixture and checks Gymnasium still gives it).
    @Test func agreesWithGymnasium() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/inverted_pendulum_gymnasium.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let episodes = try #require(object["episodes"] as? [[String: Any]])
        #expect(episodes.count == 3)
        var worst = 0.0
        for episode in episodes {
            let gains = try #require(episode["gains"] as? [Double])
            let steps = try #require(episode["steps"] as? [[String: Any]])
            var environment = try InvertedPendulum()
            var observation = environment.reset(
                positions: try #require(episode["qpos"] as? [Double]), velocities: try #require(episode["qvel"] as? [Double]))
            var length = 0
            for expected in steps {
                let action = min(3, max(-3, zip(gains, observation).reduce(0) { $0 + $1.0 * $1.1 }))
                let step = environment.step([action])
                length += 1
                let target = try #require(expected["observation"] as? [Double])
                worst = max(worst, zip(step.observation, target).map { abs($0 - $1) }.max()!)
                #expect(step.reward == (expected["reward"] as? Double))
                #expect(step.terminated == (expected["terminated"] as? Bool))
                observation = step.observation
                if step.terminated { break }
            }
            #expect(length == steps.count)
        }
        print("InvertedPendulum vs Gymnasium (mujoco \(object["mujoco"] ?? "?") vs \(InvertedPendulum.mujocoVersion)): largest state difference \(worst)")
        #expect(worst < 1e-9)
    }
}
