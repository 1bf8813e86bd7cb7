#!/usr/bin/env python3
"""Writes docs/reproduction.md (and its plots in docs/reproduction/) from the sweep
directories that scripts/reproduction/run-sweeps.sh leaves in out/reproduction.

    python3 scripts/reproduction/make-report.py [SWEEPS_DIR] [DOCS_DIR]

Every number in the report is read from the sweeps' summary.json, results.json and
command.txt; the paper's values are those of its Table 1 and Table S5. The discussion of
each experiment is in NOTES below, written after looking at the results.
"""
import json
import math
import os
import shutil
import statistics
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SWEEPS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "out", "reproduction")
DOCS = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs")

# name, title, paper's d_int90 (None: no single value), what the paper reports
EXPERIMENTS = [
    ("toy", "Toy problem (Sec. 2), d = 1...20", 10, "10"),
    ("toy-search", "Toy problem, searched in 1...1000", 10, "10"),
    ("fc-global", "MNIST, FC 784-200-200-10, global baseline 1.0", 750, "750"),
    ("fc-local", "MNIST, FC 784-200-200-10, local baseline", (525, 575), "525-575"),
    ("lenet-global", "MNIST, LeNet, global baseline 1.0", 290, "290 (275 in S5)"),
    ("lenet-local", "MNIST, LeNet, local baseline", 275, "275"),
    ("mnist-bn-global", "MNIST, MNIST-BN (batch-normalised CNN), global baseline 1.0", None, "not in the paper"),
    ("fc-pixels", "MNIST shuffled pixels, FC, global baseline", 750, "750"),
    ("lenet-pixels", "MNIST shuffled pixels, LeNet, global baseline", 1400, "1,400 (650 in S5)"),
    ("lenet-pixels-lr0.1", "MNIST shuffled pixels, LeNet, global baseline, default learning rate 0.1", 1400, "1,400 (650 in S5)"),
    ("fc5-labels", "MNIST shuffled labels, FC-5 on 10% of the training set, global baseline 1.0", 90000, "90k"),
    ("cartpole-dqn", "CartPole-v1, DQN, FC 4-64-64-2, local baseline", 25, "25 (CartPole-v0, FC L=2 W=400)"),
    ("cartpole-dqn-195", "CartPole-v1, DQN, FC 4-64-64-2, the paper's global baseline 195", 25, "25 (CartPole-v0, FC L=2 W=400)"),
    ("inverted-pendulum-es", "InvertedPendulum-v5, ES, FC 4-20-20-2 (D = 562), local baseline", 4, "4 (InvertedPendulum-v1)"),
]
GRID = [(depth, width) for depth in (1, 2, 3, 4, 5) for width in (50, 100, 200, 400)]
# Issue 13 (scripts/reproduction/run-pretraining.sh): target data, start, scales.
PRETRAINING = [
    ("fmnist-scratch", "Fashion-MNIST", "from scratch (seeded theta0)", "no"),
    ("fmnist-from-mnist", "Fashion-MNIST", "fine-tuned from the MNIST base", "no"),
    ("fmnist-from-mnist-said", "Fashion-MNIST", "fine-tuned from the MNIST base", "yes (10)"),
    ("mnist-from-fmnist", "MNIST", "fine-tuned from the Fashion-MNIST base", "no"),
    ("mnist-from-fmnist-said", "MNIST", "fine-tuned from the Fashion-MNIST base", "yes (10)"),
]

NOTES = {}
NOTES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.json")
if os.path.exists(NOTES_FILE):
    with open(NOTES_FILE) as handle:
        NOTES = json.load(handle)


def load(name):
    directory = os.path.join(SWEEPS, name)
    path = os.path.join(directory, "summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        summary = json.load(handle)
    with open(os.path.join(directory, "results.json")) as handle:
        results = json.load(handle)
    command = {}
    command_path = os.path.join(directory, "command.txt")
    if os.path.exists(command_path):
        with open(command_path) as handle:
            for line in handle:
                key, _, value = line.rstrip("\n").partition(" ")
                command[key] = value.replace(SWEEPS.rstrip("/") + "/", "out/reproduction/")
    settings = {}
    with open(os.path.join(directory, "settings.txt")) as handle:
        for line in handle:
            key, _, value = line.rstrip("\n").partition(" ")
            settings[key] = value
    return {"summary": summary, "results": results, "command": command, "settings": settings, "directory": directory}


def number(value):
    return "-" if value is None else f"{value:,}"


def seconds(value):
    return f"{value:,.0f} s" if value >= 100 else f"{value:.1f} s"


def bootstrap_text(summary):
    bootstrap = summary.get("d_int90_bootstrap")
    if not bootstrap or bootstrap.get("mean") is None:
        return "-"
    return f"{bootstrap['mean']:.0f} ± {bootstrap['standard_deviation']:.0f} ({bootstrap['lower_2_5']}...{bootstrap['upper_97_5']})"


def difference(measured, paper):
    if measured is None or paper is None:
        return "-"
    if isinstance(paper, tuple):
        low, high = paper
        if low <= measured <= high:
            return "within"
        paper = low if measured < low else high
    ratio = measured / paper
    return f"{measured - paper:+,} ({(ratio - 1) * 100:+.0f}%)"


def copy_plot(sweep, name):
    """The plot's path relative to DOCS, copied into DOCS/reproduction unless already under DOCS."""
    source = os.path.abspath(os.path.join(sweep["directory"], "plot.svg"))
    if source.startswith(os.path.abspath(DOCS) + os.sep):
        return os.path.relpath(source, os.path.abspath(DOCS))
    target_directory = os.path.join(DOCS, "reproduction")
    os.makedirs(target_directory, exist_ok=True)
    shutil.copyfile(os.path.join(sweep["directory"], "plot.svg"), os.path.join(target_directory, f"{name}.svg"))
    return f"reproduction/{name}.svg"


def means_table(summary):
    level = summary["threshold"] * summary["baseline"]
    lines = ["| d | mean performance | seeds | above the level |", "|---:|---:|---:|:---|"]
    for mean in summary["means"]:
        lines.append(f"| {mean['d']:,} | {mean['mean_performance']:.4f} | {mean['runs']} | {'yes' if mean['mean_performance'] > level else 'no'} |")
    return "\n".join(lines)


def unit(sweep):
    """What a run's `epochs` count: steps (toy), evaluations of the policy (--env) or epochs."""
    if "environment" in sweep["settings"]:
        return "evaluations"
    return "steps" if sweep["summary"].get("data") is None else "epochs"


def cost_text(sweep):
    summary = sweep["summary"]
    wall = sweep["command"].get("wall_seconds")
    wall_text = seconds(float(wall)) if wall else "-"
    if wall and float(wall) < 0.5 * summary["run_seconds"]:
        return (f"{summary['training_runs']} training runs ({summary['stopped_early']} stopped early), "
                f"{summary['epochs_trained']:,} {unit(sweep)}, {seconds(summary['run_seconds'])} of training; wall not measured "
                f"(interrupted and resumed)")
    return (f"{summary['training_runs']} training runs ({summary['stopped_early']} stopped early), "
            f"{summary['epochs_trained']:,} {unit(sweep)}, "
            f"{seconds(summary['run_seconds'])} of training, {wall_text} wall")


def grid_svg(points):
    """d_int90 against D for the width/depth grid, log-log, one marker per depth."""
    width, height, left, right, top, bottom = 640, 400, 70, 150, 40, 50
    plot_width, plot_height = width - left - right, height - top - bottom
    xs = [math.log10(p[2]) for p in points]
    ys = [math.log10(p[3]) for p in points]
    x_low, x_high = math.floor(min(xs) * 2) / 2, math.ceil(max(xs) * 2) / 2
    y_low, y_high = 2.0, 4.0
    def x(value):
        return left + (math.log10(value) - x_low) / (x_high - x_low) * plot_width
    def y(value):
        return top + (1 - (math.log10(value) - y_low) / (y_high - y_low)) * plot_height
    colors = {1: "#1b9e77", 2: "#d95f02", 3: "#7570b3", 4: "#e7298a", 5: "#66a61e"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left + plot_width / 2}" y="22" text-anchor="middle" font-size="14">FC width/depth grid on MNIST: d_int90 against D (log-log)</text>',
        f'<line x1="{left}" y1="{top + plot_height}" x2="{left + plot_width}" y2="{top + plot_height}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_height}" stroke="black"/>',
        f'<text x="{left + plot_width / 2}" y="{height - 10}" text-anchor="middle">number of parameters D</text>',
        f'<text x="16" y="{top + plot_height / 2}" text-anchor="middle" transform="rotate(-90 16 {top + plot_height / 2})">d_int90</text>',
    ]
    exponent = x_low
    while exponent <= x_high + 1e-9:
        value = 10 ** exponent
        parts.append(f'<text x="{x(value):.1f}" y="{top + plot_height + 16}" text-anchor="middle">{value:,.0f}</text>')
        exponent += 0.5
    for value in (100, 200, 500, 1000, 2000, 5000, 10000):
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:,}</text>')
        parts.append(f'<line x1="{left}" y1="{y(value):.1f}" x2="{left + plot_width}" y2="{y(value):.1f}" stroke="#eee"/>')
    for depth, width_, parameters, d_int90 in points:
        parts.append(f'<circle cx="{x(parameters):.1f}" cy="{y(d_int90):.1f}" r="5" fill="{colors[depth]}"><title>L = {depth}, W = {width_}: D = {parameters:,}, d_int90 = {d_int90:,}</title></circle>')
        parts.append(f'<text x="{x(parameters) + 7:.1f}" y="{y(d_int90) - 6:.1f}" font-size="10">W{width_}</text>')
    for index, depth in enumerate(sorted({p[0] for p in points})):
        parts.append(f'<circle cx="{left + plot_width + 20}" cy="{top + 10 + index * 18}" r="5" fill="{colors[depth]}"/>')
        parts.append(f'<text x="{left + plot_width + 30}" y="{top + 14 + index * 18}">L = {depth} hidden</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    sweeps = {name: load(name) for name, *_ in EXPERIMENTS}
    sweeps["fc-grid"] = load("fc-grid")
    grid = {}
    for depth, width in GRID:
        sweep = load(f"fc-L{depth}-W{width}")
        if sweep:
            grid[(depth, width)] = sweep

    out = []
    say = out.append
    say("# Reproduction of the paper's intrinsic dimensions")
    say("")
    say("Generated by `python3 scripts/reproduction/make-report.py docs/reproduction/sweeps` from the sweeps that "
        "`scripts/reproduction/run-sweeps.sh` runs into `out/reproduction` (each sweep's exact command is given below). "
        "Their `summary.json`, `results.json` (every run: d, seed, accuracy, epochs, seconds, early stop), `settings.txt` "
        "and `command.txt` are kept in [`docs/reproduction/sweeps`](reproduction/sweeps); the runs' `.idz` models (2-4 KB "
        "each) are not committed, and re-running a sweep's command re-creates them bit for bit. Paper values: Li et al. "
        "(ICLR 2018), Table 1 and Table S5; the authors' local-baseline values are from their code's notebook.")
    say("")
    if "intro" in NOTES:
        say(NOTES["intro"])
        say("")

    say("## Summary")
    say("")
    say("| experiment | D | d_int90 (idzip) | bootstrap over seeds: mean ± sd (95%) | paper | difference | cost |")
    say("|---|---:|---:|---|---:|---:|---|")
    for name, title, paper, paper_text in EXPERIMENTS:
        sweep = sweeps[name]
        if not sweep:
            say(f"| {title} | | not run | | {paper_text} | | |")
            continue
        summary = sweep["summary"]
        measured = summary["d_int90"]
        say(f"| [{title}](#{name}) | {summary['parameters']:,} | **{number(measured)}** | {bootstrap_text(summary)} | {paper_text} | "
            f"{difference(measured, paper)} | {cost_text(sweep)} |")
    if grid:
        values = [s["summary"]["d_int90"] for s in grid.values() if s["summary"]["d_int90"]]
        sizes = [s["summary"]["parameters"] for s in grid.values()]
        say(f"| [FC width/depth grid](#width-depth), {len(grid)} networks | {min(sizes):,}...{max(sizes):,} ({max(sizes) / min(sizes):.1f}x) | "
            f"{min(values):,}...{max(values):,} ({max(values) / min(values):.2f}x) | | D 24.1x, d_int90 1.33x | | |")
    say("")

    for name, title, paper, paper_text in EXPERIMENTS:
        sweep = sweeps[name]
        say(f'<a id="{name}"></a>')
        say(f"## {title}")
        say("")
        if not sweep:
            say(NOTES.get(name, "Not run."))
            say("")
            continue
        summary = sweep["summary"]
        say(f"`{sweep['command'].get('command', '')}`")
        say("")
        say(f"- d_int90 = **{number(summary['d_int90'])}** (paper: {paper_text}); baseline {summary['baseline_kind']} "
            f"{summary['baseline']:.4f}, level {summary['threshold'] * summary['baseline']:.4f}; "
            f"d_int100 = {number(summary['d_int100']) if summary.get('d_int100_measured', True) else 'not measured (early stops)'}")
        say(f"- bootstrap over seeds: {bootstrap_text(summary)}")
        say(f"- training: `{sweep['settings'].get('training', '')}`, early stop {sweep['settings'].get('early-stop', 'off')}")
        if "environment" in sweep["settings"]:
            say(f"- environment and algorithm: `{sweep['settings']['environment']}`")
        say(f"- cost: {cost_text(sweep)}; started {sweep['command'].get('started', '?')}; "
            f"{sweep['command'].get('machine', '')}")
        if name in NOTES:
            say("")
            say(NOTES[name])
        say("")
        say(f"![{title}]({copy_plot(sweep, name)})")
        say("")
        say(means_table(summary))
        say("")

    search, plain = sweeps.get("fc-global"), sweeps.get("fc-grid")
    say('<a id="search-vs-grid"></a>')
    say("## Search against a plain grid")
    say("")
    if search and plain:
        s, g = search["summary"], plain["summary"]
        full_runs = [r for r in plain["results"] if r["projection"] != "direct"]
        mean_run = statistics.mean(r["seconds"] for r in full_runs)
        epochs = max(r["epochs"] for r in full_runs)
        low, high, resolution = 50, 3200, 25
        grid_dims = len(range(low, high + 1, resolution))
        say(f"The FC global-baseline sweep above searched d in {low}...{high} to a resolution of {resolution} "
            f"(`--search`, doubling then bisection, with early stopping). For comparison, "
            f"`{plain['command'].get('command', '')}` trained a plain grid, every run to its last epoch:")
        say("")
        say("| | d values | training runs | epochs | training time | wall time | d_int90 |")
        say("|---|---:|---:|---:|---:|---:|---:|")
        say(f"| search, resolution {resolution}, early stops | {len(s['dims'])} | {s['training_runs']} | {s['epochs_trained']:,} | "
            f"{seconds(s['run_seconds'])} | {seconds(float(search['command'].get('wall_seconds', 0)))} | {number(s['d_int90'])} |")
        say(f"| plain grid 100...1500 step 100, full runs | {len(g['dims'])} | {g['training_runs']} | {g['epochs_trained']:,} | "
            f"{seconds(g['run_seconds'])} | {seconds(float(plain['command'].get('wall_seconds', 0)))} | {number(g['d_int90'])} |")
        grid_runs = grid_dims * s["runs"]
        say(f"| plain grid {low}...{high} step {resolution} (the search's range and resolution; estimated) | {grid_dims} | {grid_runs} | "
            f"{grid_runs * epochs:,} | about {seconds(grid_runs * mean_run)} | | |")
        say("")
        say(f"The estimate multiplies the runs by the mean full run of the measured grid ({mean_run:.1f} s, {epochs} epochs). "
            f"The search used {s['training_runs'] / g['training_runs']:.2f}x the runs and "
            f"{s['run_seconds'] / g['run_seconds']:.2f}x the training time of the 15-point grid while resolving d_int90 "
            f"{100 // resolution}x more finely, and {s['training_runs'] / grid_runs * 100:.1f}% of the runs "
            f"({s['run_seconds'] / (grid_runs * mean_run) * 100:.1f}% of the time) of a grid at its own resolution.")
        if "search-vs-grid" in NOTES:
            say("")
            say(NOTES["search-vs-grid"])
        say("")
        say(f"![plain grid]({copy_plot(plain, 'fc-grid')})")
        say("")
    else:
        say("Not run.")
        say("")

    say('<a id="width-depth"></a>')
    say("## FC width/depth grid")
    say("")
    if grid:
        points = sorted((depth, width, s["summary"]["parameters"], s["summary"]["d_int90"])
                        for (depth, width), s in grid.items() if s["summary"]["d_int90"])
        any_sweep = next(iter(grid.values()))
        say(f"Each network: `idzip sweep --model fc:784-W...-10 ...` with "
            f"`{any_sweep['command'].get('command', '').split(' --model ')[1].split(' ', 1)[1].rsplit(' --out', 1)[0]}`, "
            "global baseline 1.0.")
        say("")
        say("| hidden layers L | width W | D | d_int90 | bootstrap mean ± sd | cost |")
        say("|---:|---:|---:|---:|---|---|")
        for (depth, width), sweep in sorted(grid.items()):
            summary = sweep["summary"]
            say(f"| {depth} | {width} | {summary['parameters']:,} | {number(summary['d_int90'])} | {bootstrap_text(summary)} | {cost_text(sweep)} |")
        say("")
        if points:
            sizes = [p[2] for p in points]
            values = [p[3] for p in points]
            say(f"D varies {max(sizes) / min(sizes):.1f}x across these networks; d_int90 varies {max(values) / min(values):.2f}x "
                f"({min(values):,} to {max(values):,}). Paper: D 24.1x, d_int90 1.33x over L in 1...5, W in 50...400.")
            os.makedirs(os.path.join(DOCS, "reproduction"), exist_ok=True)
            with open(os.path.join(DOCS, "reproduction", "width-depth.svg"), "w") as handle:
                handle.write(grid_svg(points))
            say("")
            say("![d_int90 against D](reproduction/width-depth.svg)")
        if "width-depth" in NOTES:
            say("")
            say(NOTES["width-depth"])
        say("")
    else:
        say("Not run.")
        say("")

    pretraining_section(say)

    with open(os.path.join(DOCS, "reproduction.md"), "w") as handle:
        handle.write("\n".join(out).rstrip() + "\n")
    print(f"wrote {os.path.join(DOCS, 'reproduction.md')}")


def pretraining_section(say):
    """Issue 13: d_int90 from scratch and fine-tuned from a pre-trained base, with and without SAID scales."""
    sweeps = [(name, data, start, scales, load(name)) for name, data, start, scales in PRETRAINING]
    if not any(sweep for *_, sweep in sweeps):
        return
    say('<a id="pretraining"></a>')
    say("## Pre-training and the intrinsic dimension")
    say("")
    if "pretraining" in NOTES:
        say(NOTES["pretraining"])
        say("")
    say("| target data | start | scales per tensor | baseline (direct) | level | d_int90 (stored numbers) | cost |")
    say("|---|---|---|---:|---:|---:|---|")
    for name, data, start, scales, sweep in sweeps:
        if not sweep:
            say(f"| {data} | {start} | {scales} | | | not run | |")
            continue
        summary = sweep["summary"]
        say(f"| {data} | [{start}](#{name}) | {scales} | {summary['baseline']:.4f} | {summary['threshold'] * summary['baseline']:.4f} | "
            f"**{number(summary['d_int90'])}** | {cost_text(sweep)} |")
    say("")
    if "pretraining-after" in NOTES:
        say(NOTES["pretraining-after"])
        say("")
    for name, data, start, scales, sweep in sweeps:
        if not sweep:
            continue
        summary = sweep["summary"]
        title = f"{data}, LeNet, {start}" + (", one scale per tensor (SAID)" if scales != "no" else "")
        say(f'<a id="{name}"></a>')
        say(f"### {title}")
        say("")
        say(f"`{sweep['command'].get('command', '')}`")
        say("")
        say(f"- d_int90 = **{number(summary['d_int90'])}** (stored numbers: theta_d plus scales); baseline {summary['baseline_kind']} "
            f"{summary['baseline']:.4f}, level {summary['threshold'] * summary['baseline']:.4f}")
        say(f"- training: `{sweep['settings'].get('training', '')}`, early stop {sweep['settings'].get('early-stop', 'off')}")
        for key in ("base", "tensor-modes"):
            if key in sweep["settings"]:
                say(f"- {key}: `{sweep['settings'][key]}`")
        say(f"- cost: {cost_text(sweep)}; started {sweep['command'].get('started', '?')}; {sweep['command'].get('machine', '')}")
        if name in NOTES:
            say("")
            say(NOTES[name])
        say("")
        say(f"![{title}]({copy_plot(sweep, name)})")
        say("")
        say(means_table(summary))
        say("")


if __name__ == "__main__":
    main()
