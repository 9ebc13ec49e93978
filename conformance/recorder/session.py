"""The recorder's life in a feature run: put the proxy in front of the target, validate and save at the end.

`start` swaps `target.host` for the proxy's socket, so every client a step makes (httpx, docker-py, the docker
CLI) goes through it. `finish` validates every exchange and writes ``reports/recordings/<target>.json``;
`python -m conformance.recorder.table` compares the two targets. SKIFF_RECORD=0 turns recording off.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from conformance.recorder.proxy import RecordingProxy
from conformance.recorder.validate import Verdict, validate
from vm.ping import unix_path

REPO = Path(__file__).resolve().parent.parent.parent
# The tox feature envs set SKIFF_RECORD_DIR to reports/recordings (what the table and the report read); a
# behave run by hand writes to reports/recordings/manual/ so that a partial run does not replace them.
OUT_DIR = Path(os.environ.get("SKIFF_RECORD_DIR", REPO / "reports" / "recordings" / "manual"))
CI_DIR = REPO / "reports" / "recordings"


def start(target: Any) -> RecordingProxy | None:
    if os.environ.get("SKIFF_RECORD", "1") == "0" or not str(target.host).startswith("unix://"):
        return None
    proxy = RecordingProxy(unix_path(target.host)).start()
    target.upstream_host = target.host
    target.host = proxy.host
    return proxy


def summarise(target: str, verdicts: list[Verdict]) -> dict[str, Any]:
    ops: dict[str, dict[str, Any]] = {}
    for v in verdicts:
        op = ops.setdefault(
            v.operation, {"calls": 0, "violating": 0, "statuses": Counter(), "signatures": {}}
        )
        op["calls"] += 1
        op["statuses"][str(v.status)] += 1
        if v.shape:
            op.setdefault("shapes", {}).setdefault(str(v.status), set()).update(v.shape)
        if v.violations:
            op["violating"] += 1
        for sig in v.violations:
            entry = op["signatures"].setdefault(f"{v.status} {sig}", {"count": 0, "example": v.example})
            entry["count"] += 1
    for op in ops.values():
        op["shapes"] = {k: sorted(v) for k, v in op.get("shapes", {}).items()}
    return {"target": target, "operations": ops}


def feature_results(context: Any) -> list[dict[str, Any]]:
    """Per feature file: scenarios passed/failed/skipped (behave's runner, read in after_all)."""
    runner = getattr(context, "_runner", None)
    out = []
    for feature in getattr(runner, "features", None) or []:
        counts: Counter[str] = Counter()
        for scenario in feature.walk_scenarios():
            counts[getattr(scenario.status, "name", str(scenario.status))] += 1
        out.append({"file": str(feature.filename), "name": feature.name, "scenarios": dict(counts)})
    return out


def finish(proxy: RecordingProxy | None, target: Any, context: Any = None) -> Path | None:
    if proxy is None:
        return None
    exchanges = proxy.take()
    proxy.stop()
    target.host = getattr(target, "upstream_host", target.host)
    verdicts = [validate(e) for e in exchanges]
    data = summarise(target.name, verdicts)
    data["features"] = feature_results(context) if context is not None else []
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{target.name}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
    bad = sum(o["violating"] for o in data["operations"].values())
    out = sys.__stdout__ or sys.stdout
    out.write(
        f"recorder: {len(verdicts)} responses from {target.name} over {len(data['operations'])} operations, "
        f"{bad} violate the spec; written to {path}\n"
    )
    return path
