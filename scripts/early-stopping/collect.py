"""Collects the `idzip train --json` outputs of curves.sh into one curves file (JSON on stdout)."""
import json
import pathlib
import sys

runs = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    summary = json.loads(path.read_text())
    settings = summary["settings"]
    model = path.stem.split("-d")[0].replace("_", ":")
    runs.append({
        "name": f"{model} d={summary['d']} seed {summary['seed']}",
        "model": model, "d": summary["d"], "seed": summary["seed"], "settings": settings,
        "test_accuracy": [epoch["test_accuracy"] for epoch in summary["history"]],
    })
json.dump({"source": "idzip train --json (scripts/early-stopping/curves.sh)", "runs": runs}, sys.stdout, indent=1)
print()
