#!/usr/bin/env python3
"""`python -m conformance.recorder.table [--fail]`: the per-operation table of recorded spec violations.

Reads ``reports/recordings/{skiff,docker}.json`` (written by the feature runs) and prints, per operation:
calls and violating responses on Skiff and on Docker. A Skiff violation whose signature (status, kind, JSON
path, rule) Docker shows too for the same operation is a *Docker spec deviation* (listed, not a failure);
any other Skiff violation fails with --fail. Without a Docker recording every Skiff violation counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from conformance.recorder.session import CI_DIR as OUT_DIR


def load(target: str, directory: Path = OUT_DIR) -> dict[str, Any] | None:
    path = directory / f"{target}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def compare(skiff: dict[str, Any] | None, docker: dict[str, Any] | None) -> dict[str, Any]:
    """Rows per operation plus Skiff-only violations and shared (Docker-deviation) ones."""
    s_ops = (skiff or {}).get("operations", {})
    d_ops = (docker or {}).get("operations", {})
    rows: list[dict[str, Any]] = []
    skiff_only: list[tuple[str, str, int, str]] = []
    shared: list[tuple[str, str, int, str]] = []
    docker_only: list[tuple[str, str, int, str]] = []
    for op in sorted(set(s_ops) | set(d_ops)):
        s, d = s_ops.get(op, {}), d_ops.get(op, {})
        s_sigs, d_sigs = s.get("signatures", {}), d.get("signatures", {})
        rows.append({
            "operation": op, "skiff_calls": s.get("calls", 0), "skiff_violating": s.get("violating", 0),
            "docker_calls": d.get("calls", 0), "docker_violating": d.get("violating", 0),
        })
        for sig, info in sorted(s_sigs.items()):
            (shared if sig in d_sigs else skiff_only).append((op, sig, info["count"], info["example"]))
        for sig, info in sorted(d_sigs.items()):
            if sig not in s_sigs:
                docker_only.append((op, sig, info["count"], info["example"]))
    return {"rows": rows, "skiff_only": skiff_only, "shared": shared, "docker_only": docker_only}


def markdown(result: dict[str, Any], have_docker: bool) -> str:
    lines = [
        "| operation | calls (Skiff) | violating (Skiff) | calls (Docker) | violating (Docker) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['operation']} | {r['skiff_calls']} | {r['skiff_violating']} | "
            f"{r['docker_calls']} | {r['docker_violating']} |"
        )
    for title, key in (
        ("Skiff-only spec violations (fail the run)", "skiff_only"),
        ("Docker spec deviations (Skiff matches Docker; not a failure)", "shared"),
        ("Docker-only spec violations", "docker_only"),
    ):
        lines += ["", f"### {title}", ""]
        items = result[key]
        if not items:
            lines.append("none")
        for op, sig, count, example in items:
            lines.append(f"- {op}: `{sig}` x{count} (e.g. `{example}`)")
    if not have_docker:
        lines += ["", "(no Docker recording: run the features against the reference first)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail", action="store_true", help="exit 1 on a Skiff-only violation")
    parser.add_argument("--dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    skiff, docker = load("skiff", args.dir), load("docker", args.dir)
    if skiff is None and docker is None:
        print(f"no recordings in {args.dir}", file=sys.stderr)
        return 1 if args.fail else 0
    result = compare(skiff, docker)
    text = markdown(result, docker is not None)
    (args.dir / "table.md").write_text(text)
    print(text)
    n = len(result["skiff_only"])
    print(f"recorder: {n} Skiff-only violation signature(s), {len(result['shared'])} shared with Docker")
    return 1 if args.fail and n else 0


if __name__ == "__main__":
    sys.exit(main())
