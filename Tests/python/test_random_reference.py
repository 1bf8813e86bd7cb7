"""The Python reference of the random streams agrees with Random123 and with the committed
test vectors (which the Swift tests check against the Swift implementation)."""
import json
import pathlib
import subprocess
import sys

from idz_random import Stream, philox4x32_10

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_philox_known_answers():
    path = ROOT / "Tests" / "IdzipCoreTests" / "Fixtures" / "philox4x32-10-kat.txt"
    lines = [l.split() for l in path.read_text().splitlines() if l and not l.startswith("#")]
    assert len(lines) == 3
    for fields in lines:
        words = [int(w, 16) for w in fields[2:]]
        assert list(philox4x32_10(tuple(words[0:4]), tuple(words[4:6]))) == words[6:10]


def test_committed_vectors_are_reproducible(tmp_path):
    committed = json.loads((ROOT / "Formats" / "test-vectors" / "random.json").read_text())
    output = tmp_path / "random.json"
    subprocess.run([sys.executable, str(ROOT / "Tests" / "python" / "make_random_vectors.py"), str(output)], check=True, capture_output=True)
    regenerated = json.loads(output.read_text())
    assert committed == regenerated


def test_normals_have_unit_variance():
    s = Stream(3, "theta0", 0)
    values = [s.normal(n) for n in range(20000)]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    assert abs(mean) < 0.03 and abs(variance - 1) < 0.04
