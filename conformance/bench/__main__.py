"""Measure Skiff and the reference Docker in one run, alternating targets each iteration; print a Markdown
table of medians and the Skiff/Docker ratio. A target that is down gets n/a; all it makes is removed by ID."""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

import httpx

from conformance.bench.measures import LABEL, MEASURES, Measure
from conformance.harness import api
from conformance.target import Target, target
from vm import busybox

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _up(tgt: Target, start: bool) -> bool:
    try:
        if start:
            tgt.ensure_running()
        if not tgt.answers():
            return False
        busybox.import_into(tgt.host)
    except Exception as exc:  # a target that is down is reported, not fatal
        print(f"{tgt.name}: unavailable ({exc})", file=sys.stderr)
        return False
    return True


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if value < 100 else f"{value:.0f}"


def table(results: dict[str, dict[str, float | None]], iterations: int, memory_rounds: int) -> str:
    lines = [
        f"| measure (median; {iterations} iterations, memory {memory_rounds}) "
        "| unit | Skiff | Docker | Skiff/Docker |",
        "|---|---|---|---|---|",
    ]
    for m in MEASURES:
        skiff, docker = results.get("skiff", {}).get(m.key), results.get("docker", {}).get(m.key)
        ratio = f"{skiff / docker:.2f}" if skiff is not None and docker else "n/a"
        lines.append(f"| {m.title} | {m.unit} | {_fmt(skiff)} | {_fmt(docker)} | {ratio} |")
    return "\n".join(lines)


def run(
    names: list[str], iterations: int, memory_rounds: int, start: bool
) -> dict[str, dict[str, float | None]]:
    targets = [target(n) for n in names]
    up = {t.name: _up(t, start) for t in targets}
    samples: dict[str, dict[str, list[float]]] = {t.name: {m.key: [] for m in MEASURES} for t in targets}
    failed: dict[str, set[str]] = {t.name: set() for t in targets}
    clients = {t.name: api.client(t.host) for t in targets if up[t.name]}
    try:
        for i in range(max(iterations, memory_rounds)):
            order = targets if i % 2 == 0 else list(reversed(targets))  # alternate who goes first
            for m in MEASURES:
                rounds = memory_rounds if m.key == "memory" else iterations
                if i >= rounds:
                    continue
                for tgt in order:
                    if up[tgt.name] and m.key not in failed[tgt.name]:
                        _sample(tgt, m, clients[tgt.name], samples, failed)
    finally:
        for client in clients.values():
            _sweep(client)
            client.close()
        for tgt in targets:
            if start:
                tgt.stop_if_started()
    return {
        name: {k: (statistics.median(v) if v else None) for k, v in per.items()}
        for name, per in samples.items()
    }


def _sweep(client: httpx.Client) -> None:
    """Remove, by ID, any container a failed measure left behind (they all carry the bench label)."""
    try:
        listed = client.get(api.v(f"/containers/json?all=1&filters={api.filters(label=[LABEL])}"))
        for item in listed.json() if listed.status_code == 200 else []:
            client.delete(api.v(f"/containers/{item['Id']}?force=1&v=1"))
    except httpx.HTTPError as exc:
        print(f"bench cleanup failed: {exc}", file=sys.stderr)


def _sample(
    tgt: Target,
    m: Measure,
    client: object,
    samples: dict[str, dict[str, list[float]]],
    failed: dict[str, set[str]],
) -> None:
    try:
        samples[tgt.name][m.key].append(m.run(tgt, client))  # type: ignore[arg-type]
    except Exception as exc:
        print(f"{tgt.name}: {m.key} failed: {exc}", file=sys.stderr)
        failed[tgt.name].add(m.key)
        samples[tgt.name][m.key].clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.bench", description=__doc__)
    parser.add_argument("--targets", default="skiff,docker", help="comma-separated: skiff,docker")
    parser.add_argument("--iterations", type=int, default=7)
    parser.add_argument("--memory-rounds", type=int, default=2)
    parser.add_argument("--no-start", action="store_true", help="only measure daemons that already answer")
    parser.add_argument(
        "--readme", type=Path, help=f"replace the table between {BEGIN} and {END} in this file"
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    results = run(names, args.iterations, args.memory_rounds, start=not args.no_start)
    md = table(results, args.iterations, args.memory_rounds)
    print(md)
    if args.readme:
        text = args.readme.read_text()
        new, n = re.subn(re.escape(BEGIN) + ".*?" + re.escape(END), f"{BEGIN}\n{md}\n{END}", text, flags=re.S)
        if n != 1:
            print(f"{args.readme}: no {BEGIN}...{END} block", file=sys.stderr)
            return 1
        args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
