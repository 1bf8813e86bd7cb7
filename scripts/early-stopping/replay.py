"""Replays early-stopping rules on trained-out curves (curves.sh, collect.py) at many levels.

For each level (threshold x baseline) and each run, a rule is applied after every epoch as
a sweep applies it; a "wrong stop" is a run stopped as "cannot reach" whose trained-out
accuracy is above the level (it would pass), a "wrong pass" a run stopped as "passed" whose
trained-out accuracy is not. One set of curves serves every threshold.
Usage: python3 replay.py curves.json  (prints the markdown tables of docs/early-stopping.md)
"""
import json
import sys


def old_rule(history, total, level, margin=0.01, optimism=2.0):
    """idzip before issue 10: judged from a third of the epochs on, extrapolating the last gain."""
    latest = history[-1]
    if len(history) >= total:
        return None
    if latest >= level + margin:
        return "passed"
    if len(history) < max(2, (total + 2) // 3):
        return None
    gain = max(0.0, latest - history[-2])
    return "cannot_reach" if latest + optimism * (total - len(history)) * gain + margin <= level else None


def new_rule(history, total, level, margin=0.01, optimism=3.0, minimum_gain=0.02):
    """Sources/IdzipTraining/Sweep/EarlyStopping.swift: from half of the epochs on, the largest gain so far."""
    latest = history[-1]
    if len(history) >= total:
        return None
    if latest >= level + margin:
        return "passed"
    if len(history) < max(2, (total + 1) // 2):
        return None
    gains = [b - a for a, b in zip(history, history[1:])]
    per_epoch = max(minimum_gain, optimism * max(gains)) if gains else minimum_gain
    return "cannot_reach" if latest + (total - len(history)) * per_epoch + margin <= level else None


def judge(rule, curve, level):
    for epochs in range(1, len(curve)):
        outcome = rule(curve[:epochs], len(curve), level)
        if outcome:
            return outcome, epochs
    return None, len(curve)


def table(runs, levels):
    rows = ["| baseline | threshold | level | runs | pass trained out | old: wrong stops | old: wrong passes | old: epochs | "
            "new: wrong stops | new: wrong passes | new: epochs | trained out: epochs |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    details = []
    for baseline_name, baseline, threshold in levels:
        level = threshold * baseline
        counts = {"old": [0, 0, 0], "new": [0, 0, 0]}
        passing = 0
        full = 0
        for run in runs:
            curve = run["test_accuracy"]
            final = curve[-1]
            passing += final > level
            full += len(curve)
            for name, rule in (("old", old_rule), ("new", new_rule)):
                outcome, epochs = judge(rule, curve, level)
                counts[name][2] += epochs
                if outcome == "cannot_reach" and final > level:
                    counts[name][0] += 1
                    details.append(f"- {name} rule, {baseline_name} baseline, threshold {threshold}: {run['name']} stopped as "
                                   f"cannot reach after epoch {epochs} at {curve[epochs - 1]:.4f}; trained out {final:.4f} > level {level:.4f}")
                if outcome == "passed" and final <= level:
                    counts[name][1] += 1
                    details.append(f"- {name} rule, {baseline_name} baseline, threshold {threshold}: {run['name']} stopped as "
                                   f"passed after epoch {epochs} at {curve[epochs - 1]:.4f}; trained out {final:.4f} <= level {level:.4f}")
        o, n = counts["old"], counts["new"]
        rows.append(f"| {baseline_name} | {threshold} | {level:.4f} | {len(runs)} | {passing} | {o[0]} | {o[1]} | {o[2]} | "
                    f"{n[0]} | {n[1]} | {n[2]} | {full} |")
    return rows, details


def main():
    runs = json.load(open(sys.argv[1]))["runs"]
    thresholds = [0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98]
    print("### Curves\n")
    print("| run | test accuracy after each epoch |")
    print("|---|---|")
    for run in runs:
        print(f"| {run['name']} | " + ", ".join(f"{value:.4f}" for value in run["test_accuracy"]) + " |")
    # Local baselines of docs/reproduction.md: FC 98.22%, LeNet 99.00% (direct training).
    local = {"fc": 0.9822, "lenet": 0.9900}
    for family in sorted({run["model"].split(":")[0] for run in runs}):
        group = [run for run in runs if run["model"].split(":")[0] == family]
        levels = [("global 1.0", 1.0, t) for t in thresholds] + [(f"local {local[family]}", local[family], t) for t in thresholds]
        rows, details = table(group, levels)
        print(f"\n### {family}\n")
        print("\n".join(rows))
        if details:
            print("\nDisagreements with the trained-out result:\n")
            print("\n".join(details))
        else:
            print("\nNo disagreement with the trained-out result.")
    # A fine grid: every level from 0.85 to 0.99 in steps of 0.0005.
    grid = [round(0.85 + i * 0.0005, 4) for i in range(281)]
    wrong = {"old": 0, "new": 0}
    for run in runs:
        for level in grid:
            for name, rule in (("old", old_rule), ("new", new_rule)):
                outcome, _ = judge(rule, run["test_accuracy"], level)
                wrong[name] += outcome == "cannot_reach" and run["test_accuracy"][-1] > level
    print(f"\nFine grid (levels 0.85...0.99 step 0.0005, {len(grid)} levels x {len(runs)} runs): wrong cannot-reach stops: "
          f"old rule {wrong['old']}, new rule {wrong['new']}.")
    for rule, (gap, name, epoch) in headroom(runs).items():
        print(f"\nHeadroom, {rule} rule: smallest (optimistic end - trained-out accuracy) over every judged epoch of every run = "
              f"{gap:+.4f} ({name}, after epoch {epoch}); " + ("positive: no wrong stop at any level." if gap > 0 else
              "not positive: this run is stopped wrongly at the levels between its optimistic end and its trained-out accuracy."))


def headroom(runs):
    """Level-free check: a rule stops a run wrongly at some level exactly when, at a judged
    epoch, its optimistic end (latest + allowance + margin) is below the trained-out accuracy.
    Returns, per rule, the smallest (optimistic end - trained-out accuracy) and where."""
    def ends(curve, rule):
        total = len(curve)
        for k in range(1, total):
            history = curve[:k]
            latest = history[-1]
            if rule == "old":
                if k < max(2, (total + 2) // 3):
                    continue
                yield k, latest + 2.0 * (total - k) * max(0.0, latest - history[-2]) + 0.01
            else:
                if k < max(2, (total + 1) // 2):
                    continue
                gains = [b - a for a, b in zip(history, history[1:])]
                yield k, latest + (total - k) * max(0.02, 3.0 * max(gains)) + 0.01
    result = {}
    for rule in ("old", "new"):
        result[rule] = min((end - run["test_accuracy"][-1], run["name"], k)
                           for run in runs for k, end in ends(run["test_accuracy"], rule))
    return result


if __name__ == "__main__":
    main()
