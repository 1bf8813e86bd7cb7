"""InvertedPendulum: Gymnasium's episodes that idzip's MuJoCo environment is compared with.

The fixture Tests/IdzipTrainingTests/Fixtures/inverted_pendulum_gymnasium.json holds
Gymnasium's InvertedPendulum-v5 episodes under fixed linear policies
(action = clip(K . observation, -3, 3)) from fixed initial states: every observation,
reward and termination flag. The Swift test InvertedPendulumTests replays the same policies
in idzip's environment (Debian's MuJoCo 2.2.2) and measures the agreement; this test checks
that the installed Gymnasium and PyPI mujoco still produce the fixture (it is skipped when
they are not installed). Regenerate the fixture with
`.venv/bin/python Tests/python/test_inverted_pendulum.py`.
"""
import json
import pathlib
import sys

import numpy as np
import pytest

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "IdzipTrainingTests" / "Fixtures" / "inverted_pendulum_gymnasium.json"

# (gains K, qpos0, qvel0): two balancing policies and one that drops the pole.
CASES = [
    ([1.0, 10.0, 1.0, 1.0], [0.005, -0.003], [0.002, 0.004]),
    ([0.3, 8.0, 0.5, 1.0], [-0.008, 0.009], [-0.006, 0.001]),
    ([0.0, -10.0, 0.0, 0.0], [0.0, 0.01], [0.0, 0.0]),
]


def record():
    import gymnasium as gym
    import mujoco

    env = gym.make("InvertedPendulum-v5")
    env.reset(seed=0)
    unwrapped = env.unwrapped
    episodes = []
    for gains, qpos, qvel in CASES:
        env.reset(seed=0)
        unwrapped.set_state(np.array(qpos), np.array(qvel))
        observation = np.concatenate([qpos, qvel])
        steps = []
        for _ in range(1000):
            action = float(np.clip(np.dot(gains, observation), -3.0, 3.0))
            observation, reward, terminated, truncated, _ = env.step(np.array([action]))
            steps.append({"observation": [float(x) for x in observation], "reward": float(reward),
                          "terminated": bool(terminated), "truncated": bool(truncated)})
            if terminated or truncated:
                break
        episodes.append({"gains": gains, "qpos": qpos, "qvel": qvel, "steps": steps})
    return {"gymnasium": gym.__version__, "mujoco": mujoco.__version__, "environment": "InvertedPendulum-v5",
            "episodes": episodes}


def test_gymnasium_reproduces_the_fixture():
    pytest.importorskip("gymnasium")
    pytest.importorskip("mujoco")
    pytest.importorskip("imageio")
    recorded = json.loads(FIXTURE.read_text())
    now = record()
    assert len(now["episodes"]) == len(recorded["episodes"])
    for fresh, old in zip(now["episodes"], recorded["episodes"]):
        assert len(fresh["steps"]) == len(old["steps"])
        assert [s["reward"] for s in fresh["steps"]] == [s["reward"] for s in old["steps"]]
        assert [s["terminated"] for s in fresh["steps"]] == [s["terminated"] for s in old["steps"]]
        worst = max(abs(a - b) for f, o in zip(fresh["steps"], old["steps"])
                    for a, b in zip(f["observation"], o["observation"]))
        # The same MuJoCo version gives the same bits; a newer one may differ slightly.
        assert worst < 1e-6, (now["mujoco"], recorded["mujoco"], worst)


def test_the_fixture_has_a_full_episode_and_a_fall():
    recorded = json.loads(FIXTURE.read_text())
    lengths = [len(e["steps"]) for e in recorded["episodes"]]
    returns = [sum(s["reward"] for s in e["steps"]) for e in recorded["episodes"]]
    assert lengths[0] == 1000 and returns[0] == 1000
    assert lengths[2] < 100 and recorded["episodes"][2]["steps"][-1]["terminated"]
    assert returns[2] == lengths[2] - 1  # v5: no reward for the step that drops the pole


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(record()) + "\n")
    print("wrote", FIXTURE, file=sys.stderr)
