"""Benchmark: the case category and risk flag suggested from free-text case notes, offline.

    .venv/bin/python bench/case_suggest.py                  # the built-in categories
    .venv/bin/python bench/case_suggest.py --config FILE    # the categories of a settings file
    .venv/bin/python bench/case_suggest.py --quick          # fewer timed passes

Two labelled sets written for the project (columns note, category, severity; invented
names and places, no NIK or phone number): ``tests/fixtures/case_notes.csv``, which the
default keywords were tuned against (so its figures are in-sample), and
``tests/fixtures/case_notes_holdout.csv``, written before the keywords and not tuned
against (it shaped two changes of the scoring and some violence and neglect words, once:
see README "Case notes"). Every note goes through the function `pendamping case suggest`
uses (``bot.case_command.suggest``). Reported per set: top-1 accuracy (the suggested
category is the labelled one), accuracy per category, urgent recall (of the notes labelled
mendesak, the share suggested mendesak; and of the kdrt and perlindungan_anak notes, the
target being 100%), urgent precision, and notes per second on one core (the matcher built
once, as in a running bot). The last line is JSON:
``{"sets": {"case_notes": {...}, "holdout": {...}}, "notes_per_s": ...}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bot.case_command import case_rules, suggest  # noqa: E402
from bot.config import load_settings  # noqa: E402
from models.rules.case_categories import CaseRules  # noqa: E402

SETS = {
    "case_notes": ROOT / "tests" / "fixtures" / "case_notes.csv",
    "holdout": ROOT / "tests" / "fixtures" / "case_notes_holdout.csv",
}
ALWAYS_URGENT_TARGET = ("kdrt", "perlindungan_anak")


def read_set(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def score(rules: CaseRules, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Accuracy and urgent recall of the suggestions for ``rows``."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    urgent = flagged = urgent_flagged = target = target_flagged = 0
    for row in rows:
        found = suggest(rules, row["note"])
        total[row["category"]] += 1
        right[row["category"]] += found["category"] == row["category"]
        said_urgent = found["severity"] == "mendesak"
        is_urgent = row["severity"] == "mendesak"
        urgent += is_urgent
        flagged += said_urgent
        urgent_flagged += said_urgent and is_urgent
        if row["category"] in ALWAYS_URGENT_TARGET:
            target += 1
            target_flagged += said_urgent
    return {
        "notes": len(rows),
        "top1_accuracy": round(sum(right.values()) / len(rows), 4),
        "per_category": {key: f"{right[key]}/{count}" for key, count in total.items()},
        "urgent_recall": round(urgent_flagged / urgent, 4) if urgent else None,
        "urgent_recall_kdrt_perlindungan_anak": (
            round(target_flagged / target, 4) if target else None
        ),
        "urgent_precision": round(urgent_flagged / flagged, 4) if flagged else None,
    }


def throughput(rules: CaseRules, notes: list[str], passes: int) -> float:
    """Notes per second, the best of three runs of ``passes`` passes over ``notes``."""
    suggest(rules, notes[0])  # the matcher is built once, when first used
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(passes):
            for note in notes:
                suggest(rules, note)
        best = max(best, passes * len(notes) / (time.perf_counter() - started))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="a settings file (default: built-in)")
    parser.add_argument("--quick", action="store_true", help="5 timed passes, not 50")
    args = parser.parse_args(argv)
    rules = case_rules(load_settings(args.config, environ={}).settings)
    found = {}
    notes: list[str] = []
    for name, path in SETS.items():
        rows = read_set(path)
        notes += [row["note"] for row in rows]
        found[name] = figures = score(rules, rows)
        print(f"{name} ({path.relative_to(ROOT)}): {figures['notes']} notes")
        print(f"  top-1 accuracy        {figures['top1_accuracy']:.1%}")
        print(f"  urgent recall         {figures['urgent_recall']:.1%}"
              f" (kdrt and perlindungan anak: "
              f"{figures['urgent_recall_kdrt_perlindungan_anak']:.1%})")
        print(f"  urgent precision      {figures['urgent_precision']:.1%}")
        print("  per category          " + ", ".join(
            f"{key} {share}" for key, share in figures["per_category"].items()
        ))
    per_second = throughput(rules, notes, 5 if args.quick else 50)
    print(f"throughput: {per_second:,.0f} notes/s (one core, {len(notes)} notes per pass)")
    print(json.dumps({"sets": found, "notes_per_s": round(per_second)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
