#!/usr/bin/env python3
"""`python -m conformance.differential [--run-missing]`: the differential report, Skiff against real Docker.

Reads what the other runs recorded: the feature runs on both targets (reports/recordings/<target>.json: every
response validated with openapi-core, masked body shapes, feature results) and the fuzz runs
(reports/fuzz/<target>.json). With --run-missing it first makes what is missing (behave on a target; a small
fuzz of Docker's side-effect-free operations). Writes conformance/report/report.md and index.html.

Per operation (one row for each of the spec's 105): status codes of the same scenarios agree or not, masked
bodies agree or not (key paths and JSON types; ids, times and sizes are masked by construction; a null on
one side matches any type on the other, Go's nil), spec violations only Skiff has / only Docker has / both,
and fuzz cases and 5xx on each target.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from conformance.recorder import table  # noqa: E402
from conformance.recorder.session import CI_DIR as REC_DIR  # noqa: E402
from conformance.spec.operations import Operation, operations  # noqa: E402

FUZZ_DIR = Path(os.environ.get("SKIFF_FUZZ_DIR", REPO / "reports" / "fuzz"))
REPORT_DIR = Path(os.environ.get("SKIFF_REPORT_DIR", REPO / "conformance" / "report"))
TARGETS = ("skiff", "docker")
DYNAMIC_KEY = re.compile(r"(?<=\.)(?:[0-9a-f]{12,64}|skt-[0-9a-f]{10}[^.\[]*)(?=\.|\[|$)")


def _load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def run_missing(cases: int) -> None:
    py = sys.executable
    for t in TARGETS:
        if not (REC_DIR / f"{t}.json").exists():
            tags = ["--tags=not @wip"] if t == "skiff" else []
            subprocess.run([str(Path(py).parent / "behave"), *tags],
                           env=dict(os.environ, SKIFF_TARGET=t, SKIFF_RECORD_DIR=str(REC_DIR)), cwd=REPO,
                           check=False)
    if not (FUZZ_DIR / "docker.json").exists():
        subprocess.run([py, "-m", "conformance.fuzz", "--target", "docker", "--cases", str(cases)],
                       cwd=REPO, check=False)


def _shape_diff(s: list[str], d: list[str]) -> tuple[list[str], list[str]]:
    """Key paths whose types differ; a null on one side matches any type on the other."""

    def index(paths: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for p in paths:
            key, _, typ = p.rpartition(":")
            key = DYNAMIC_KEY.sub("<key>", key)  # map keys that are ids or the scenario's own names
            out.setdefault(key, set()).add(typ)
        return out

    si, di = index(s), index(d)
    only_s, only_d = [], []
    for key in sorted(set(si) | set(di)):
        st, dt = si.get(key, set()), di.get(key, set())
        if not st:
            only_d.append(f"{key}:{'|'.join(sorted(dt))}")
        elif not dt:
            only_s.append(f"{key}:{'|'.join(sorted(st))}")
        elif "null" in st or "null" in dt:
            continue
        elif st != dt:
            only_s.append(f"{key}:{'|'.join(sorted(st))}")
            only_d.append(f"{key}:{'|'.join(sorted(dt))}")
    # a child of a missing parent says nothing new
    def prune(items: list[str]) -> list[str]:
        keys = [i.rpartition(":")[0] for i in items]
        return [i for i, k in zip(items, keys, strict=True)
                if not any(k != o and (k.startswith(o + ".") or k.startswith(o + "[]")) for o in keys)]
    return prune(only_s), prune(only_d)


def row(op: Operation, rec: dict[str, dict[str, Any]], fuzz: dict[str, dict[str, Any] | None],
        violations: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    s = rec["skiff"].get("operations", {}).get(op.operation_id, {})
    d = rec["docker"].get("operations", {}).get(op.operation_id, {})
    r: dict[str, Any] = {"op": op.operation_id, "method": op.method, "path": op.template, "tag": op.tag,
                         "calls_s": s.get("calls", 0), "calls_d": d.get("calls", 0)}
    if s and d:
        ss, ds = s.get("statuses", {}), d.get("statuses", {})
        r["status"] = "agree" if set(ss) == set(ds) else "differ"  # polling makes counts differ
        r["status_detail"] = f"Skiff {_dist(ss)}; Docker {_dist(ds)}"
        diffs = []
        for code in sorted(set(s.get("shapes", {})) & set(d.get("shapes", {}))):
            only_s, only_d = _shape_diff(s["shapes"][code], d["shapes"][code])
            if only_s or only_d:
                diffs.append(f"{code}: only Skiff {', '.join(only_s[:6]) or '-'}; "
                             f"only Docker {', '.join(only_d[:6]) or '-'}")
        compared = set(s.get("shapes", {})) & set(d.get("shapes", {}))
        r["body"] = ("differ" if diffs else "agree") if compared else "n/a"
        r["body_detail"] = " | ".join(diffs)
    else:
        r["status"] = r["body"] = "not exercised" if not (s or d) else "one target"
        r["status_detail"] = r["body_detail"] = ""
    v = violations.get(op.operation_id, {})
    r["viol_s"], r["viol_d"], r["viol_both"] = len(v.get("s", [])), len(v.get("d", [])), len(v.get("b", []))
    for t, key in (("skiff", "fuzz_s"), ("docker", "fuzz_d")):
        f = (fuzz[t] or {}).get("operations", {}).get(op.operation_id)
        r[key + "_detail"] = _dist(f.get("statuses", {})) if f else ""
        if f is None:
            r[key] = "-"
        else:
            five = sum(n for c, n in f.get("statuses", {}).items() if c.startswith("5"))
            r[key] = f"{f['calls']}" + (f" ({five} 5xx)" if five else "")
    return r


def _dist(statuses: dict[str, int]) -> str:
    return ", ".join(f"{c}x{n}" for c, n in sorted(statuses.items())) or "-"


def build() -> dict[str, Any]:
    rec = {t: _load(REC_DIR / f"{t}.json") or {} for t in TARGETS}
    fuzz = {t: _load(FUZZ_DIR / f"{t}.json") for t in TARGETS}
    cmp = table.compare(rec["skiff"] or None, rec["docker"] or None)
    violations: dict[str, dict[str, list[str]]] = {}
    for key, short in (("skiff_only", "s"), ("docker_only", "d"), ("shared", "b")):
        for op, sig, _n, _ex in cmp[key]:
            violations.setdefault(op, {}).setdefault(short, []).append(sig)
    rows = [row(op, rec, fuzz, violations) for op in operations()]
    return {"rows": rows, "cmp": cmp, "rec": rec, "fuzz": fuzz,
            "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def _features(rec: dict[str, Any]) -> list[tuple[str, str, str]]:
    by: dict[str, dict[str, str]] = {}
    for t in TARGETS:
        for f in rec[t].get("features", []):
            sc = f["scenarios"]
            by.setdefault(f["file"], {})[t] = ", ".join(f"{n} {k}" for k, n in sorted(sc.items()))
    return [(file, v.get("skiff", "-"), v.get("docker", "-")) for file, v in sorted(by.items())]


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "operations": len(rows),
        "exercised": sum(1 for r in rows if r["calls_s"] or r["calls_d"]),
        "both": sum(1 for r in rows if r["calls_s"] and r["calls_d"]),
        "status_agree": sum(1 for r in rows if r["status"] == "agree"),
        "body_agree": sum(1 for r in rows if r["body"] == "agree"),
        "skiff_only_viol": sum(1 for r in rows if r["viol_s"]),
        "fuzzed_skiff": sum(1 for r in rows if r["fuzz_s"] != "-"),
        "fuzzed_docker": sum(1 for r in rows if r["fuzz_d"] != "-"),
    }


COLUMNS = ("operation", "method path", "feature calls S/D", "status codes", "bodies",
           "spec violations S-only/D-only/both", "fuzz cases Skiff", "fuzz cases Docker")


def markdown(rep: dict[str, Any]) -> str:
    rows, c = rep["rows"], _counts(rep["rows"])
    out = [
        "# Skiff conformance report: Engine API v1.39, Skiff against the reference Docker", "",
        f"Generated {rep['generated']}. {c['operations']} operations; {c['exercised']} exercised by the "
        f"features ({c['both']} on both targets): status codes agree on {c['status_agree']}, masked bodies "
        f"on {c['body_agree']}; {c['skiff_only_viol']} with Skiff-only spec violations; fuzzed: "
        f"{c['fuzzed_skiff']} on Skiff, {c['fuzzed_docker']} on Docker (side-effect-free only).", "",
        "## Operations", "",
        "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS),
    ]
    for r in rows:
        out.append(
            f"| {r['op']} | `{r['method']} {r['path']}` | {r['calls_s']}/{r['calls_d']} | {r['status']} | "
            f"{r['body']} | {r['viol_s']}/{r['viol_d']}/{r['viol_both']} | {r['fuzz_s']} | {r['fuzz_d']} |"
        )
    out += ["", "## Where they differ", ""]
    for r in rows:
        if r["status"] == "differ":
            out.append(f"- {r['op']} status codes: {r['status_detail']}")
        if r["body"] == "differ":
            out.append(f"- {r['op']} bodies: {r['body_detail']}")
    out += ["", "## Features on each target", "", "| feature | Skiff | Docker |", "|---|---|---|"]
    out += [f"| {f} | {s} | {d} |" for f, s, d in _features(rep["rec"])]
    out += ["", "## Spec violations (recorded responses, openapi-core)", ""]
    out += table.markdown(rep["cmp"], bool(rep["rec"]["docker"])).split("\n")[2 + len(rep["cmp"]["rows"]):]
    out += ["## Fuzzing (schemathesis)", ""]
    for t in TARGETS:
        f = rep["fuzz"][t]
        if f is None:
            out.append(f"- {t}: not run")
            continue
        out.append(f"- {t}: {f.get('cases', 0)} requests over {len(f.get('operations', {}))} operations in "
                   f"{f.get('seconds', '?')} s; verdict: {f.get('verdict', '?')}")
        for line, n in (f.get("server_errors") or [])[:15]:
            out.append(f"  - 5xx x{n}: `{line}`")
    return "\n".join(out) + "\n"


CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;
font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f0f0f0;
position:sticky;top:0}td.agree{background:#e3f6e3}td.differ{background:#fde2e2}td.na{color:#999}
td.bad{background:#fde2e2;font-weight:bold}code{font-size:12px}"""


def _cell(value: Any, cls: str = "", title: str = "") -> str:
    t = f' title="{html.escape(title)}"' if title else ""
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}{t}>{html.escape(str(value))}</td>"


def page(rep: dict[str, Any], md: str) -> str:
    rows, c = rep["rows"], _counts(rep["rows"])
    body = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Skiff conformance report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Skiff conformance report: Engine API v1.39 against the reference Docker</h1>",
        f"<p>Generated {html.escape(rep['generated'])}. {c['operations']} operations; {c['exercised']} "
        f"exercised by the features ({c['both']} on both targets); status codes agree on "
        f"{c['status_agree']}, masked bodies on {c['body_agree']}; {c['skiff_only_viol']} with Skiff-only "
        "spec violations. Hover a cell for details.</p>",
        "<table id='operations'><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in COLUMNS)
        + "</tr></thead><tbody>",
    ]
    for r in rows:
        def cls(v: str) -> str:
            return {"agree": "agree", "differ": "differ"}.get(v, "na")

        body.append(
            "<tr>" + _cell(r["op"]) + f"<td><code>{html.escape(r['method'] + ' ' + r['path'])}</code></td>"
            + _cell(f"{r['calls_s']}/{r['calls_d']}")
            + _cell(r["status"], cls(r["status"]), r["status_detail"])
            + _cell(r["body"], cls(r["body"]), r["body_detail"])
            + _cell(f"{r['viol_s']}/{r['viol_d']}/{r['viol_both']}", "bad" if r["viol_s"] else "")
            + _cell(r["fuzz_s"], "", r["fuzz_s_detail"])
            + _cell(r["fuzz_d"], "", r["fuzz_d_detail"]) + "</tr>"
        )
    body.append("</tbody></table>")
    rest = md.split("## Where they differ", 1)[1]
    body.append("<h2>Details</h2><pre>" + html.escape("## Where they differ" + rest) + "</pre>")
    body.append("</body></html>")
    return "\n".join(body)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-missing", action="store_true", help="run what has no recording yet")
    p.add_argument("--fuzz-cases", type=int, default=10)
    args = p.parse_args(argv)
    if args.run_missing:
        run_missing(args.fuzz_cases)
    rep = build()
    md = markdown(rep)
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "report.md").write_text(md)
    (REPORT_DIR / "index.html").write_text(page(rep, md))
    c = _counts(rep["rows"])
    print(f"report: {REPORT_DIR / 'report.md'} and index.html: {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
