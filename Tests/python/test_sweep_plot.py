"""Sweep plots as a reader sees them: real sweeps (the toy problem, a small FC network on
MNIST, and the same at a high threshold against a local baseline) rendered to PNG by
rsvg-convert (librsvg, Debian's librsvg2-bin), and their SVG checked for what the eye checks:
the title and legend name the threshold's estimate (d_int95 at 0.95), stopped runs and the
baseline are drawn, both ends of every axis are labelled, and no two labels overlap.
IDZIP_PLOT_DIR=DIR keeps the PNGs there for a look."""
import json
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

SVG = "{http://www.w3.org/2000/svg}"


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "rsvg-convert wrote a PNG"
    return struct.unpack(">II", data[16:24])


def labels(root):
    """Boxes of the unrotated text: 0.6 em per character, ascent 0.8 em, descent 0.2 em."""
    boxes = []
    for text in root.iter(SVG + "text"):
        if "transform" in text.attrib:
            continue
        size = float(text.get("font-size", root.get("font-size", "12")))
        x, y = float(text.get("x")), float(text.get("y"))
        width = len(text.text or "") * size * 0.6
        anchor = text.get("text-anchor", "start")
        x0 = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
        boxes.append((text.text, text.get("class"), x0, x0 + width, y - 0.8 * size, y + 0.2 * size))
    return boxes


def overlapping(boxes):
    return [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[2] < b[3] and b[2] < a[3] and a[4] < b[5] and b[4] < a[5]]


def check_plot(directory, name, estimate, tmp_path):
    svg = directory / "plot.svg"
    root = ET.parse(svg).getroot()
    boxes = labels(root)
    assert not overlapping(boxes), overlapping(boxes)
    title = next(b[0] for b in boxes if b[1] == "title")
    assert estimate in title and "threshold" in title
    legend = [b[0] for b in boxes if b[1] == "legend"]
    assert any(text.startswith(estimate + " ") for text in legend), legend
    assert root.find(f".//{SVG}line[@class='baseline']") is not None
    # Both ends of the d axis are labelled under each of the two panels.
    dims = [int(d) for d in json.loads((directory / "summary.json").read_text())["dims"]]
    xticks = [b[0] for b in boxes if b[1] == "xtick"]
    assert xticks.count(str(min(dims))) == 2 and xticks.count(str(max(dims))) == 2, xticks
    # Every panel's y axis is labelled at both ends: the caption of the zoomed panel names
    # its range, and those are its lowest and highest tick labels.
    caption = next(b for b in boxes if b[0].startswith("zoomed to the level"))
    zoomed = [b[0] for b in boxes if b[1] == "ytick" and b[4] >= caption[5] - 0.01]
    assert caption[0].endswith(f"performance {zoomed[0]} to {zoomed[-1]}"), (caption[0], zoomed)
    png = tmp_path / f"{name}.png"
    subprocess.run(["rsvg-convert", "-o", str(png), str(svg)], check=True)
    assert png_size(png) == (800, 640)
    if os.environ.get("IDZIP_PLOT_DIR"):
        shutil.copy(png, os.path.join(os.environ["IDZIP_PLOT_DIR"], f"{name}.png"))
    return root


@pytest.fixture(scope="module")
def rsvg():
    if shutil.which("rsvg-convert") is None:
        pytest.fail("rsvg-convert is missing: scripts/install-dependencies.sh installs librsvg2-bin")


def test_toy_sweep_plot(idzip, tmp_path, rsvg):
    out = tmp_path / "toy"
    idzip("sweep", "--model", "toy", "--dims", "1-16", "--out", out)
    root = check_plot(out, "toy", "d_int90", tmp_path)
    assert len(root.findall(f".//{SVG}circle[@class='run complete panel0']")) == 16


def test_fc_and_high_threshold_sweep_plots(idzip, tmp_path, rsvg):
    common = ["--model", "fc:784-32-10", "--data", "mnist", "--train-fraction", "0.05", "--epochs", "3",
              "--dims", "10,20,40,80,160,320,640,1280,2560"]
    fc = tmp_path / "fc"
    idzip("sweep", *common, "--out", fc)
    check_plot(fc, "fc", "d_int90", tmp_path)
    high = tmp_path / "high"
    idzip("sweep", *common, "--threshold", "0.95", "--baseline", "local", "--out", high)
    root = check_plot(high, "fc-threshold-0.95-local", "d_int95", tmp_path)
    text = ET.tostring(root, encoding="unicode")
    assert "d_int90" not in text
    assert "local: trained directly" in text
    # Every run that stopped early is marked as such (in each panel where it is in range).
    rows = json.loads((high / "results.json").read_text())
    for outcome, kind in (("cannot_reach", "cannot-reach"), ("passed", "passed")):
        stopped = sum(1 for row in rows if row.get("stopped") == outcome)
        assert len(root.findall(f".//{SVG}path[@class='run {kind} panel0']")) == stopped, outcome
    assert any(row.get("stopped") for row in rows), "some runs of this sweep stop early"
