"""idzip's CartPole (Sources/IdzipTraining/Reinforcement/CartPole.swift) against Gymnasium's
CartPole-v1 itself: the same initial state, the same actions, the same states.

`idzip eval POLICY --env cartpole --trace FILE` writes every episode as played: its seed, its
initial float64 state and, per step, the action, reward, terminated/truncated flags, the
float64 state after the step and the observation. Here Gymnasium (`gymnasium.make("CartPole-v1")`,
with its TimeLimit wrapper) replays each episode from the same state with the same actions.

Tolerance: before every step Gymnasium's state is set to idzip's, so each step is compared on
its own, and the states must agree to 2 units in the last place (np.spacing) per component. Both
compute the same float64 expression in the same order; the only operations that are not
correctly rounded are cos and sin (idzip: the C library's; NumPy: its own loops, which may use
other implementations, accurate to within an ulp or so), so a difference of an ulp in
cos/sin can move a result by an ulp or two. The test also reports how many steps agree
bit for bit (on this machine: all of them), and requires the whole trajectories, replayed
without resetting the state, to agree to 1e-9 over 25 steps (the open-loop dynamics are
unstable, so later differences of rounding would grow). Rewards, terminated and truncated
(500 steps) must be identical, and each observation must be the state rounded to float32.

The initial states are checked against the spec of the docstring of `CartPole`, computed here
from the independent Philox reference (idz_random.py): episode k of seed s resets with
seed u64(k) of (s, purpose 25, sub-stream 1), and component i is -0.05 + 0.1 * u_i with u_i the
float64 uniform number i of (that seed, purpose 24, sub-stream 0).
"""
import json

import numpy as np
import pytest

from idz_random import Stream

gymnasium = pytest.importorskip("gymnasium")


def initial_state(seed):
    stream = Stream(seed, "environment_reset")
    return [-0.05 + (0.05 - -0.05) * stream.uniform_double(i) for i in range(4)]


def episode_seed(seed, k):
    return Stream(seed, "episode_seed", 1).uint64(k)


@pytest.fixture(scope="module")
def traces(idzip, tmp_path_factory):
    """Traces of two policies: one trained briefly by DQN (long episodes, one of them to the
    500-step limit) and one untrained (short episodes that terminate)."""
    directory = tmp_path_factory.mktemp("cartpole")
    trained = directory / "trained.idz"
    idzip("train", "--env", "cartpole", "--steps", "12000", "--eval-every", "3000", "--eval-episodes", "5",
          "--threads", "2", "-o", trained)
    untrained = directory / "untrained.idz"
    idzip("train", "--env", "cartpole", "--steps", "1", "--eval-episodes", "1", "-o", untrained)
    result = []
    for policy, seed, episodes in ((trained, 7, 12), (untrained, 3, 40)):
        path = directory / (policy.stem + ".json")
        idzip("eval", policy, "--env", "cartpole", "--episodes", episodes, "--seed", seed, "--trace", path)
        result.append(json.loads(path.read_text()))
    return result


def test_initial_states_follow_the_spec(traces):
    for trace in traces:
        for episode in trace["episodes"]:
            assert episode["seed"] == episode_seed(trace["seed"], episode["episode"])
            assert episode["initialState"] == initial_state(episode["seed"])
            assert all(-0.05 <= x < 0.05 for x in episode["initialState"])
            assert episode["initialObservation"] == [float(np.float32(x)) for x in episode["initialState"]]


def test_steps_match_gymnasium(traces):
    env = gymnasium.make("CartPole-v1")
    steps = exact = 0
    terminated_seen = truncated_seen = False
    for trace in traces:
        for episode in trace["episodes"]:
            env.reset(seed=0)
            state = np.array(episode["initialState"], dtype=np.float64)
            for step in episode["steps"]:
                env.unwrapped.state = state.copy()
                observation, reward, terminated, truncated, _ = env.step(int(step["action"][0]))
                expected = np.asarray(env.unwrapped.state, dtype=np.float64)
                got = np.array(step["state"], dtype=np.float64)
                assert np.all(np.abs(got - expected) <= 2 * np.spacing(np.abs(expected))), (episode["episode"], got, expected)
                exact += bool(np.array_equal(got, expected))
                steps += 1
                assert step["reward"] == reward
                assert step["terminated"] == terminated
                assert step["truncated"] == truncated
                assert step["observation"] == [float(x) for x in np.asarray(observation, dtype=np.float32)]
                assert step["observation"] == [float(np.float32(x)) for x in step["state"]]
                terminated_seen |= terminated
                truncated_seen |= truncated
                state = got
            last = episode["steps"][-1]
            assert last["terminated"] or last["truncated"]
    assert terminated_seen and truncated_seen, "the traces cover both ends of an episode"
    assert steps > 500
    print(f"{exact} of {steps} steps bit-identical to Gymnasium")


def test_trajectories_match_gymnasium_without_resetting(traces):
    env = gymnasium.make("CartPole-v1")
    for trace in traces:
        for episode in trace["episodes"]:
            env.reset(seed=0)
            env.unwrapped.state = np.array(episode["initialState"], dtype=np.float64)
            for step in episode["steps"][:25]:
                env.step(int(step["action"][0]))
                np.testing.assert_allclose(env.unwrapped.state, step["state"], rtol=0, atol=1e-9)
