"""Print markdown table rows (pooled recall per category) from `evaluate --json` outputs.

    python scripts/recall_rows.py artifacts/paper_eval.json [more.json ...]
"""

import json
import sys


def main(paths: list[str]) -> None:
    print("| file | features | strategy | samples | loops | all |")
    print("|---|---|---|---|---|---|")
    for path in paths:
        rows = json.load(open(path))["results"]
        pooled = {(r["features"], r["strategy"], r["category"]): r["recall"]
                  for r in rows if r["genre"] == "all"}
        for features, strategy in dict.fromkeys((f, s) for f, s, _ in pooled):
            cells = [f"{pooled.get((features, strategy, c), float('nan')):.3f}"
                     for c in ("sample", "loop", "all")]
            print(f"| {path} | {features} | {strategy} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
