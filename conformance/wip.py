"""Count the scenarios tagged @wip (scenario outlines count once per example row), for the run's summary."""

from __future__ import annotations

import sys
from pathlib import Path

from behave.parser import parse_file


def count_wip(root: Path) -> int:
    total = 0
    for path in sorted(root.rglob("*.feature")):
        feature = parse_file(str(path))
        if feature is None:
            continue
        for scenario in feature.walk_scenarios():
            if "wip" in scenario.effective_tags:
                total += 1
    return total


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("features")
    print(f"{count_wip(root)} @wip scenarios skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
