"""The hostile corpus next to the spec (Formats/hostile/MANIFEST), run by the independent
implementation written from the spec alone (idz_reference.check_idz): every file raises the
kind its manifest names, in the order of section 2, so the page is exact enough to agree
with idzip on each single- and two-defect file."""
import pathlib

import pytest

from idz_reference import check_idz

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "Formats" / "hostile"


def _manifest():
    lines = (HOSTILE / "MANIFEST").read_text().splitlines()
    return [tuple(line.split()) for line in lines if line and not line.startswith("#")]


def test_the_manifest_lists_every_file():
    listed = {name for name, _ in _manifest()}
    assert len(listed) >= 120 and listed == {p.name for p in HOSTILE.glob("*.idz")}
    assert any(name.startswith("two-defects-") for name in listed)


@pytest.mark.parametrize("name,kind", _manifest())
def test_the_reference_raises_the_manifest_kind(name, kind):
    assert check_idz((HOSTILE / name).read_bytes()) == kind, name


@pytest.mark.parametrize("path", sorted((ROOT / "Formats" / "samples").glob("*.idz")), ids=lambda p: p.name)
def test_the_samples_are_valid(path):
    assert check_idz(path.read_bytes()) == "ok"
