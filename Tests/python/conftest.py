import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def idzip():
    """Runs the release build of the idzip tool; returns CompletedProcess."""
    binary = ROOT / ".build" / "release" / "idzip"
    if not binary.exists():
        subprocess.run(["swift", "build", "-c", "release", "--product", "idzip"], cwd=ROOT, check=True)

    def run(*args, check=True):
        result = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"idzip {' '.join(map(str, args))} failed: {result.stderr}")
        return result

    return run
