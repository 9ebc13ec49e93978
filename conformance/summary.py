"""Add up a `tox -m ci` log into one closing line: `tests: N passed, N failed`.

pytest's and behave's own summaries give the counts (behave counts scenarios); an env that failed without a
failing test (lint, type, a crashed runner) counts as one failure, one that passed without tests as one pass.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

ENV_CMD = re.compile(r"^(?P<env>[\w.-]+): commands\[\d+\]>")
ENV_RESULT = re.compile(r"^\s+(?P<env>[\w.-]+): (?P<result>OK|FAIL|SKIP)\b")
PYTEST = re.compile(r"^=+ (?P<body>.*\d+ (?:passed|failed|errors?|skipped|deselected).*) in [\d.]+s.* =+$")
BEHAVE = re.compile(r"^(?P<body>\d+ scenarios? passed, .*)$")
PAIR = re.compile(r"(\d+) (passed|failed|errors?|hook_error|skipped|untested|undefined)")


def summarise(lines: list[str]) -> tuple[int, int]:
    passed: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    results: dict[str, str] = {}
    env = "?"
    for line in lines:
        line = line.rstrip("\n")
        if m := ENV_CMD.match(line):
            env = m.group("env")
        elif m := ENV_RESULT.match(line):
            results[m.group("env")] = m.group("result")
        elif (m := PYTEST.match(line)) or (m := BEHAVE.match(line)):
            for count, kind in PAIR.findall(m.group("body")):
                if kind == "passed":
                    passed[env] += int(count)
                elif kind in ("failed", "error", "errors", "hook_error", "undefined", "untested"):
                    failed[env] += int(count)
    for name, result in results.items():
        if result == "FAIL" and failed[name] == 0:
            failed[name] = 1
        if result == "OK" and passed[name] == 0 and failed[name] == 0:
            passed[name] = 1
    return sum(passed.values()), sum(failed.values())


def main() -> int:
    lines = Path(sys.argv[1]).read_text(errors="replace").splitlines()
    ok, bad = summarise(lines)
    print(f"tests: {ok} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
