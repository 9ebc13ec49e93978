"""The differential runtime suite: each bundle of ``differential_bundles`` under skiff-runc and under runc.

Both runs use the very same paths (bundle, rootfs, runtime root, cgroup, host directory; the first run is
deleted before the second starts), so what the probe prints can be compared after masking only what a
kernel hands out afresh each time: pids, mount ids, anonymous device numbers, namespace inodes (reported
as "host" or "new"), times. Compared: create's exit status and error, ``state`` after create and after
the exit, the probe's exit status and output section by section, and what each hook got on stdin.

``python -m pytest tests/integration/runtime/test_differential.py -m root`` prints one line per bundle;
known disagreements are xfail(strict) with the reason, so a fix shows up as an XPASS failure.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from differential_bundles import CASES, HOOK, PROBE, Context
from runc_bundle import docker_config, make_rootfs, write_config
from runc_support import cgroup_dirs, reap

pytestmark = pytest.mark.root

SKIFF_RUNC = str(Path(sys.executable).with_name("skiff-runc"))
REAL_RUNC = "/usr/sbin/runc"

# Disagreements kept on purpose, with the reason (the bundle name -> why).
KNOWN: dict[str, str] = {
    "ns_uts_domain": "runc 1.1.5 ignores `domainname` (runc 1.2 sets it); skiff-runc sets it, as the spec "
                     "says",
    "hooks_poststart": "runc 1.1.5 runs poststart at the end of `create` (state `created`, fixed in runc "
                       "1.2); skiff-runc runs it in `start` once the process runs (`running`), as the spec",
    "bad_memory_limit": "both refuse a memory limit of -5 and leave nothing behind; skiff-runc checks the "
                        "value before it makes the cgroup, runc reports the kernel's EINVAL from the write",
}

# Bundles both runtimes must refuse (the comparison is of the error).
REFUSED = {"caps_unknown_to_kernel", "bad_rlimit", "bad_mount_type", "bad_namespace", "bad_memory_limit",
           "bad_seccomp_action", "bad_cwd_relative"}


def _reachable_dir(prefix: str) -> Path:
    """A directory every uid can traverse (pytest's are 0700): user-namespace bundles run as uid 100000."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    return path


@pytest.fixture(scope="module")
def probe_rootfs() -> Iterator[Path]:
    base = _reachable_dir("skiff-differential-rootfs-")
    path = base / "rootfs"
    make_rootfs(path)
    for name, text in (("probe", PROBE), ("probe-hook", HOOK)):
        (path / "bin" / name).write_text(text)
        (path / "bin" / name).chmod(0o755)
    for sub in ("masked-dir", "ro-dir", "mnt"):
        (path / sub).mkdir(exist_ok=True)
    (path / "masked-dir" / "secret").write_text("secret\n")
    (path / "masked-file").write_text("secret file\n")
    yield path
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = _reachable_dir("skiff-differential-run-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Outcome:
    """What one runtime did with one bundle."""

    def __init__(self) -> None:
        self.create_rc = -1
        self.create_err = ""
        self.state_created: dict[str, Any] = {}
        self.state_stopped: dict[str, Any] = {}
        self.exit_code: int | None = None
        self.output = ""
        self.hooks: dict[str, str] = {}
        self.delete_rc = -1
        self.init_pid = 0
        self.leftovers: list[str] = []  # state dir or cgroups a failed create left


def run_bundle(binary: str, work: Path, rootfs: Path, name: str, cgroup: str) -> Outcome:
    """create, state, start, wait, state, delete with fixed paths under ``work``; always cleans up."""
    bundle, host, root = work / "bundle", work / "host", work / "state"
    for d in (bundle, host):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    host_hook = work / "hook.sh"
    host_hook.write_text(HOOK)
    host_hook.chmod(0o755)
    config = docker_config(["/bin/probe"], cgroups_path=cgroup)
    config["root"]["path"] = str(rootfs)
    mutate = dict(CASES)[name]
    mutate(config, Context(host_dir=host, host_hook=host_hook, container_hook="/bin/probe-hook"))
    write_config(bundle, config)
    cid = "diff-" + name.replace("_", "-")
    out = Outcome()

    def rt(*args: str, stdout: Any = None) -> subprocess.CompletedProcess[str]:
        """Output in files: a container init inherits create's stdio and outlives it."""
        with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as own:
            res = subprocess.run([binary, "--root", str(root), *args], stdout=stdout or own, stderr=err,
                                 stdin=subprocess.DEVNULL, timeout=60, check=False, cwd="/")
            err.seek(0)
            own.seek(0)
            return subprocess.CompletedProcess(res.args, res.returncode, own.read().decode(),
                                               err.read().decode())

    def state() -> dict[str, Any]:
        res = rt("state", cid)
        return json.loads(res.stdout) if res.returncode == 0 else {"error": res.stderr.strip()}

    output = work / "probe.out"
    try:
        with open(output, "w") as f:
            res = rt("create", "--bundle", str(bundle), cid, stdout=f)
        out.create_rc, out.create_err = res.returncode, _last_message(res.stderr)
        if res.returncode != 0:
            out.leftovers = [str(p) for p in (root / cid, *cgroup_dirs(cgroup)) if p.exists()]
            return out
        out.state_created = state()
        out.init_pid = int(out.state_created.get("pid", 0))
        start = rt("start", cid)
        assert start.returncode == 0, start.stderr
        out.exit_code = reap(out.init_pid, timeout=30)
        out.state_stopped = state()
        out.delete_rc = rt("delete", cid).returncode
        out.output = output.read_text(errors="replace")
        out.hooks = {p.name: p.read_text(errors="replace") for p in sorted(host.iterdir()) if p.is_file()
                     and p.name in HOOK_PHASES}
        return out
    finally:
        if out.init_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(out.init_pid, 9)
            with contextlib.suppress(TimeoutError):
                reap(out.init_pid, timeout=5)
        rt("delete", "--force", cid)
        for path in cgroup_dirs(cgroup):
            if path.exists():
                with contextlib.suppress(OSError):
                    path.rmdir()
        for made in (rootfs / "differential",):
            shutil.rmtree(made, ignore_errors=True)


HOOK_PHASES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def _last_message(stderr: str) -> str:
    """runc logs ``time=.. level=error msg="..."``; keep the message without the runtime's name."""
    lines = stderr.strip().splitlines()
    if not lines:
        return ""
    last = lines[-1]
    if " msg=" in last:
        last = str(json.loads(last.split(" msg=", 1)[1]))
    last = re.sub(r" \(via /proc/self/fd/\d+\)", "", last)  # runc's mount-by-fd detail
    return re.sub(r"^(skiff-runc|runc) ", "", last)


def _own_namespaces() -> dict[str, str]:
    return {n: os.readlink(f"/proc/self/ns/{n}") for n in os.listdir("/proc/self/ns")}


def normalise_output(text: str, init_pid: int) -> dict[str, list[str]]:
    """The probe's sections with run-specific values masked."""
    host_ns = set(_own_namespaces().values())
    sections: dict[str, list[str]] = {}
    current = "preamble"
    for line in text.splitlines():
        if line.startswith("== "):
            current = line[3:]
            sections[current] = []
            continue
        sections.setdefault(current, []).append(_normalise_line(current, line, host_ns, init_pid))
    return sections


def _normalise_line(section: str, line: str, host_ns: set[str], init_pid: int) -> str:
    if section == "mountinfo":
        pre, _, post = line.partition(" - ")
        fields = pre.split()
        optional = [re.sub(r":\d+", "", f) for f in fields[6:]]
        if "tmpfs" in post and "/dev " in line:
            post = re.sub(r"\b(size|nr_inodes)=\d+k?", r"\1=N", post)
        return " ".join([*fields[3:6], *optional, "-", post])
    if section == "ns":
        name, _, link = line.partition(" ")
        return f"{name} {'host' if link in host_ns else 'new'}"
    if section == "status" and line.startswith(("NSpid:", "NStgid:")):
        key, *pids = line.split()
        return " ".join([key, *(["<hostpid>"] * (len(pids) - 1)), pids[-1] if len(pids) == 1 and
                         pids[-1] == "1" else ("<hostpid>" if len(pids) == 1 else pids[-1])])
    return line


def normalise_state(st: dict[str, Any], init_pid: int) -> dict[str, Any]:
    out = dict(st)
    if "created" in out:
        out["created"] = "<time>"
    if out.get("pid"):
        out["pid"] = "<init>" if out["pid"] == init_pid else "<other>"
    return out


def normalise_hook(text: str, init_pid: int) -> list[str]:
    lines = text.splitlines()
    out = []
    for line in lines:
        if line.startswith("{"):
            try:
                out.append(json.dumps(normalise_state(json.loads(line), init_pid), sort_keys=True))
                continue
            except ValueError:
                pass
        out.append(line)
    return out


def comparable(o: Outcome) -> dict[str, Any]:
    return {
        "create": (o.create_rc, o.create_err),
        "left behind": o.leftovers,
        "state after create": normalise_state(o.state_created, o.init_pid),
        "exit code": o.exit_code,
        "state after exit": normalise_state(o.state_stopped, o.init_pid),
        "delete": o.delete_rc,
        **{f"probe {k}": v for k, v in normalise_output(o.output, o.init_pid).items()},
        **{f"hook {k}": normalise_hook(v, o.init_pid) for k, v in o.hooks.items()},
    }


def differences(skiff: dict[str, Any], runc: dict[str, Any]) -> list[str]:
    out = []
    if skiff["create"] != runc["create"]:  # the rest follows from it
        return [f"[create]\n  runc:       {runc['create']!r}\n  skiff-runc: {skiff['create']!r}"]
    for key in sorted(set(skiff) | set(runc)):
        a, b = skiff.get(key, "<missing>"), runc.get(key, "<missing>")
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            diff = "\n".join(difflib.unified_diff(b, a, "runc", "skiff-runc", lineterm="", n=0))
            out.append(f"[{key}]\n{diff}")
        else:
            out.append(f"[{key}]\n  runc:       {b!r}\n  skiff-runc: {a!r}")
    return out


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=True)) if n in KNOWN else n
    for n, _ in CASES
])
def test_bundle_agrees(name: str, probe_rootfs: Path, workdir: Path, subreaper: None) -> None:
    if not os.path.exists(REAL_RUNC):
        pytest.skip("runc not installed")
    cgroup = f"/skiff-differential-{name}-{uuid.uuid4().hex[:8]}"
    work = workdir / "run"
    ours = comparable(run_bundle(SKIFF_RUNC, work, probe_rootfs, name, cgroup))
    theirs = comparable(run_bundle(REAL_RUNC, work, probe_rootfs, name, cgroup))
    diffs = differences(ours, theirs)
    assert not diffs, f"{name}: skiff-runc and runc disagree\n" + "\n".join(diffs)
    if name in REFUSED:
        assert theirs["create"][0] == 1, theirs
    else:
        assert theirs["create"][0] == 0 and theirs["exit code"] == 0, theirs
