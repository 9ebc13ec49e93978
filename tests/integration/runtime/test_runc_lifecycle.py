"""skiff-runc against a real kernel, and the same tests against runc to prove the interfaces match."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from runc_bundle import write_config
from runc_support import Runtime, cgroup_dirs, message, reap, wait_for

pytestmark = pytest.mark.root

# the vendored copy of ../shared/specs/oci-runtime-spec-v1.3.0 (a unit test keeps them identical)
STATE_SCHEMA = Path(__file__).parents[3] / "impl/skiff/oci/schema/state-schema.json"


def test_run_echo_hello(runtime: Runtime) -> None:
    bundle = runtime.bundle("hello", ["echo", "hello"])
    res = runtime("run", "--bundle", str(bundle), "hello")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "hello\n"


def test_exit_code_propagates(runtime: Runtime) -> None:
    bundle = runtime.bundle("exit3", ["sh", "-c", "exit 3"])
    res = runtime("run", "--bundle", str(bundle), "exit3")
    assert res.returncode == 3, res.stderr


def test_lifecycle(runtime: Runtime, tmp_path: Path) -> None:
    bundle = runtime.bundle("life", ["sleep", "1000"])
    pid_file = tmp_path / "init.pid"
    res = runtime("create", "--bundle", str(bundle), "--pid-file", str(pid_file), "life")
    assert res.returncode == 0, res.stderr
    st = runtime.state("life")
    runtime.pids.append(st["pid"])
    assert st["status"] == "created"
    assert st["id"] == "life" and st["bundle"] == str(bundle)
    assert int(pid_file.read_text()) == st["pid"] > 0
    validate_state(st)

    assert runtime("start", "life").returncode == 0
    assert runtime.state("life")["status"] == "running"
    again = runtime("start", "life")
    assert again.returncode == 1 and message(again) == "cannot start an already running container"
    busy = runtime("delete", "life")
    assert busy.returncode == 1
    assert message(busy) == "cannot delete container life that is not stopped: running"

    assert runtime("kill", "life", "KILL").returncode == 0
    wait_for(lambda: runtime.state("life")["status"] == "stopped", what="stopped")
    stopped = runtime.state("life")
    assert stopped["pid"] == 0
    validate_state(stopped)
    assert reap(st["pid"]) == 128 + signal.SIGKILL
    assert runtime("kill", "life").returncode == 1

    assert runtime("delete", "life").returncode == 0
    gone = runtime("state", "life")
    assert gone.returncode == 1 and message(gone) == "container does not exist"
    assert not (runtime.root / "life").exists()
    assert not any(p.exists() for p in cgroup_dirs(runtime.created["life"]))
    assert str(runtime.rootfs) not in Path("/proc/self/mountinfo").read_text()


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15", "sigterm"])
def test_kill_signal_names(runtime: Runtime, sig: str) -> None:
    bundle = runtime.bundle("trap", ["sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.05; done"])
    assert runtime("create", "--bundle", str(bundle), "trap").returncode == 0
    pid = runtime.state("trap")["pid"]
    runtime.pids.append(pid)
    assert runtime("start", "trap").returncode == 0
    wait_for(lambda: "sleep" in _children_comms(pid), what="the trap to be installed")
    assert runtime("kill", "trap", sig).returncode == 0, sig
    assert reap(pid) == 7


def test_kill_unknown_signal(runtime: Runtime) -> None:
    bundle = runtime.bundle("sig", ["sleep", "1000"])
    assert runtime("create", "--bundle", str(bundle), "sig").returncode == 0
    runtime.pids.append(runtime.state("sig")["pid"])
    res = runtime("kill", "sig", "FOO")
    assert res.returncode == 1 and message(res) == 'unknown signal "FOO"'


def test_kill_all(runtime: Runtime) -> None:
    bundle = runtime.bundle("all", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    assert runtime("create", "--bundle", str(bundle), "all").returncode == 0
    pid = runtime.state("all")["pid"]
    runtime.pids.append(pid)
    assert runtime("start", "all").returncode == 0
    wait_for(lambda: _children_comms(pid).count("sleep") == 2, what="two sleeps")
    procs = next(p for p in cgroup_dirs(runtime.created["all"]) if p.parent.name == "pids") / "cgroup.procs"
    members = [int(x) for x in procs.read_text().split()]
    assert len(members) == 3
    assert runtime("kill", "--all", "all", "KILL").returncode == 0
    assert reap(pid) == 128 + signal.SIGKILL
    wait_for(lambda: not procs.read_text().split(), what="empty cgroup")


def test_container_environment(runtime: Runtime) -> None:
    script = "hostname; echo $$; test -r /proc/self/stat && echo proc; pwd; echo $FOO; id -u; id -g; id -G"
    bundle = runtime.bundle("env", ["sh", "-c", script], hostname="boxname", cwd="/home/user",
                            env=["PATH=/bin", "FOO=bar baz"], uid=1000, gid=1000, additional_gids=[1000, 5])
    res = runtime("run", "--bundle", str(bundle), "env")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n") == ["boxname", "1", "proc", "/home/user", "bar baz", "1000", "1000",
                                      "1000 5", ""]


def test_mounts_and_devices(runtime: Runtime) -> None:
    script = ("ls /dev/null /dev/zero /dev/urandom /dev/pts/ptmx >/dev/null && readlink /dev/ptmx "
              "&& grep -c ' /sys sysfs ro,' /proc/mounts && (echo x > /proc/sys/kernel/hostname || echo ro) "
              "&& ip -o link show lo | grep -c UP")
    bundle = runtime.bundle("mounts", ["sh", "-c", script])
    res = runtime("run", "--bundle", str(bundle), "mounts")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["pts/ptmx", "1", "ro", "1"]


def test_executable_not_found(runtime: Runtime) -> None:
    bundle = runtime.bundle("nobin", ["nosuchbin"])
    res = runtime("create", "--bundle", str(bundle), "nobin")
    assert res.returncode == 1
    assert message(res).endswith('create failed: unable to start container process: '
                                 'exec: "nosuchbin": executable file not found in $PATH')
    assert not (runtime.root / "nobin").exists()
    assert not any(p.exists() for p in cgroup_dirs(runtime.created["nobin"]))


def test_bad_config_refused(runtime: Runtime) -> None:
    bundle = runtime.bundle("bad", ["true"])
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["cwd"] = 5
    write_config(bundle, config)
    res = runtime("create", "--bundle", str(bundle), "bad")
    assert res.returncode == 1
    assert "cwd" in res.stderr
    assert not (runtime.root / "bad").exists()


def test_json_log(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runtime.log"
    res = runtime("--log", str(log), "--log-format", "json", "state", "missing")
    assert res.returncode == 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[-1]["level"] == "error" and lines[-1]["msg"] == "container does not exist"


def test_list(runtime: Runtime) -> None:
    assert runtime("list", "--format", "json").stdout.strip() == "null"
    bundle = runtime.bundle("lst", ["sleep", "1000"])
    assert runtime("create", "--bundle", str(bundle), "lst").returncode == 0
    runtime.pids.append(runtime.state("lst")["pid"])
    listed = json.loads(runtime("list", "--format", "json").stdout)
    assert [(c["id"], c["status"]) for c in listed] == [("lst", "created")]
    assert runtime("list", "-q").stdout == "lst\n"
    table = runtime("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert table[1].split()[0] == "lst"


def test_delete_created_container_kills_init(runtime: Runtime) -> None:
    bundle = runtime.bundle("dc", ["sleep", "1000"])
    assert runtime("create", "--bundle", str(bundle), "dc").returncode == 0
    pid = runtime.state("dc")["pid"]
    runtime.pids.append(pid)
    assert runtime("delete", "dc").returncode == 0
    assert reap(pid) == 128 + signal.SIGKILL
    assert not any(p.exists() for p in cgroup_dirs(runtime.created["dc"]))


def test_delete_force_running(runtime: Runtime) -> None:
    bundle = runtime.bundle("df", ["sh", "-c", "sleep 1000 & sleep 1000"])
    assert runtime("create", "--bundle", str(bundle), "df").returncode == 0
    pid = runtime.state("df")["pid"]
    runtime.pids.append(pid)
    assert runtime("start", "df").returncode == 0
    assert runtime("delete", "--force", "df").returncode == 0
    assert reap(pid) == 128 + signal.SIGKILL
    assert not (runtime.root / "df").exists()
    assert not any(p.exists() for p in cgroup_dirs(runtime.created["df"]))


def test_duplicate_id(runtime: Runtime) -> None:
    bundle = runtime.bundle("dup", ["sleep", "1000"])
    assert runtime("create", "--bundle", str(bundle), "dup").returncode == 0
    runtime.pids.append(runtime.state("dup")["pid"])
    res = runtime("create", "--bundle", str(bundle), "dup")
    assert res.returncode == 1 and "exists" in res.stderr
    assert runtime.state("dup")["status"] == "created"


def test_leaked_fds_are_closed(runtime: Runtime, tmp_path: Path) -> None:
    bundle = runtime.bundle("fds", ["sh", "-c", "test -e /proc/self/fd/50 && echo leaked || echo closed"])
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        os.dup2(fd, 50, inheritable=True)
        res = runtime("run", "--bundle", str(bundle), "fds", pass_fds=(50,))
    finally:
        os.close(50)
        os.close(fd)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "closed\n"


def _children_comms(pid: int) -> list[str]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        if int(rest[1]) == pid:
            out.append(stat[stat.index("(") + 1:stat.rindex(")")])
    return out


def validate_state(state: dict[str, object]) -> None:
    import jsonschema

    schema = json.loads(STATE_SCHEMA.read_text())
    defs = json.loads((STATE_SCHEMA.parent / "defs.json").read_text())["definitions"]
    for prop in schema["properties"].values():
        ref = prop.pop("$ref", None)
        if ref:
            prop.update(defs[ref.rsplit("/", 1)[1]])
    jsonschema.Draft4Validator(schema).validate(state)


def test_hooks(runtime: Runtime, tmp_path: Path) -> None:
    """prestart/createRuntime during create (state on stdin), poststart, poststop.

    runc 1.1 runs poststart already in create (fixed in runc 1.2); skiff-runc runs it in start (the spec).
    """
    out = tmp_path / "hooks.log"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\necho \"$1 $(cat)\" >> {out}\n")
    script.chmod(0o755)
    bundle = runtime.bundle("hk", ["true"])
    config = json.loads((bundle / "config.json").read_text())
    config["hooks"] = {phase: [{"path": str(script), "args": ["hook.sh", phase], "timeout": 5}]
                       for phase in ("prestart", "createRuntime", "poststart", "poststop")}
    write_config(bundle, config)
    assert runtime("create", "--bundle", str(bundle), "hk").returncode == 0
    pid = runtime.state("hk")["pid"]
    runtime.pids.append(pid)
    lines = out.read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in lines][:2] == ["prestart", "createRuntime"]
    if runtime.name == "skiff-runc":
        assert len(lines) == 2
    first = json.loads(lines[0].split(" ", 1)[1])
    assert (first["id"], first["pid"], first["bundle"]) == ("hk", pid, str(bundle))
    assert first["status"] in ("creating", "created")
    assert runtime("start", "hk").returncode == 0
    reap(pid)
    assert runtime("delete", "hk").returncode == 0
    assert [line.split(" ", 1)[0] for line in out.read_text().splitlines()] == [
        "prestart", "createRuntime", "poststart", "poststop"]
    poststart = json.loads(out.read_text().splitlines()[2].split(" ", 1)[1])
    assert poststart["id"] == "hk"


def test_failing_hook_fails_create(runtime: Runtime, tmp_path: Path) -> None:
    bundle = runtime.bundle("hkf", ["true"])
    config = json.loads((bundle / "config.json").read_text())
    config["hooks"] = {"prestart": [{"path": "/bin/false"}]}
    write_config(bundle, config)
    res = runtime("create", "--bundle", str(bundle), "hkf")
    assert res.returncode == 1
    assert "prestart" in message(res) or "hook" in message(res)
    assert not (runtime.root / "hkf").exists()
    assert not any(p.exists() for p in cgroup_dirs(runtime.created["hkf"]))


def test_readonly_root_rlimits_and_limits(runtime: Runtime) -> None:
    script = ("(touch /x 2>/dev/null && echo rw || echo ro); ulimit -n; "
              "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max")
    bundle = runtime.bundle("ro", ["sh", "-c", script])
    config = json.loads((bundle / "config.json").read_text())
    config["root"]["readonly"] = True
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
    config["linux"]["resources"]["memory"]["limit"] = 64 * 1024 * 1024
    config["linux"]["resources"]["pids"] = {"limit": 42}
    write_config(bundle, config)
    res = runtime("run", "--bundle", str(bundle), "ro")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["ro", "321", str(64 * 1024 * 1024), "42"]


def test_run_detach(runtime: Runtime) -> None:
    bundle = runtime.bundle("det", ["sleep", "1000"])
    res = runtime("run", "--detach", "--bundle", str(bundle), "det")
    assert res.returncode == 0, res.stderr
    st = runtime.state("det")
    runtime.pids.append(st["pid"])
    assert st["status"] == "running"


def test_missing_cwd_is_created(runtime: Runtime) -> None:
    bundle = runtime.bundle("cwd", ["pwd"], cwd=f"/made/by/{runtime.name}")
    try:
        res = runtime("run", "--bundle", str(bundle), "cwd")
        assert res.returncode == 0, res.stderr
        assert res.stdout == f"/made/by/{runtime.name}\n"
    finally:
        made = runtime.rootfs / "made" / "by" / runtime.name
        if made.exists():
            made.rmdir()


@pytest.mark.parametrize(("argv0", "error"), [
    ("/etc", 'exec: "/etc": permission denied'),
    ("/etc/passwd", 'exec: "/etc/passwd": permission denied'),
    ("/nonexist", 'exec: "/nonexist": stat /nonexist: no such file or directory'),
    ("./rel", 'exec: "./rel": stat ./rel: no such file or directory'),
])
def test_exec_errors_match_runc(runtime: Runtime, argv0: str, error: str) -> None:
    """Docker maps these messages to 126/127, so they must read exactly like runc's."""
    bundle = runtime.bundle("ee", [argv0])
    res = runtime("create", "--bundle", str(bundle), "ee")
    assert res.returncode == 1
    assert message(res) == f"{runtime.name} create failed: unable to start container process: {error}"


def test_join_namespaces_by_path(runtime: Runtime) -> None:
    """Like ``docker run --net=container:A --ipc=container:A``: setns into A's namespaces by path."""
    a = runtime.bundle("nsa", ["sleep", "1000"])
    assert runtime("create", "--bundle", str(a), "nsa").returncode == 0
    pid_a = runtime.state("nsa")["pid"]
    runtime.pids.append(pid_a)
    script = "for n in net ipc uts; do readlink /proc/self/ns/$n; done"
    b = runtime.bundle("nsb", ["sh", "-c", script])
    config = json.loads((b / "config.json").read_text())
    for ns in config["linux"]["namespaces"]:
        if ns["type"] in ("network", "ipc"):
            ns["path"] = f"/proc/{pid_a}/ns/{'net' if ns['type'] == 'network' else 'ipc'}"
    write_config(b, config)
    res = runtime("run", "--bundle", str(b), "nsb")
    assert res.returncode == 0, res.stderr
    net, ipc, uts = res.stdout.split()
    assert net == os.readlink(f"/proc/{pid_a}/ns/net")
    assert ipc == os.readlink(f"/proc/{pid_a}/ns/ipc")
    assert uts != os.readlink(f"/proc/{pid_a}/ns/uts")


DOCKER_SECCOMP = Path(__file__).with_name("data") / "docker-20.10-seccomp.json"


@pytest.mark.parametrize("no_new_privileges", [False, True])
def test_docker_default_seccomp(runtime: Runtime, no_new_privileges: bool) -> None:
    """Docker's default profile (the OCI form dockerd 20.10 wrote): containers work, blocked calls fail."""
    script = "echo ok; id -u; unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-blocked"
    bundle = runtime.bundle("sc", ["sh", "-c", script], uid=1000, gid=1000)
    config = json.loads((bundle / "config.json").read_text())
    config["linux"]["seccomp"] = json.loads(DOCKER_SECCOMP.read_text())
    config["process"]["noNewPrivileges"] = no_new_privileges
    write_config(bundle, config)
    res = runtime("run", "--bundle", str(bundle), "sc")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["ok", "1000", "unshare-blocked"]


def test_custom_seccomp_rules(runtime: Runtime) -> None:
    """Default allow, mkdir denied with EACCES, chmod denied only for mode 0777 (an argument condition)."""
    script = ("mkdir /tmp/d 2>&1; touch /tmp/f; chmod 0644 /tmp/f && echo chmod-644-ok; "
              "chmod 0777 /tmp/f 2>&1 || echo chmod-777-blocked")
    bundle = runtime.bundle("sr", ["sh", "-c", script])
    config = json.loads((bundle / "config.json").read_text())
    config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["chmod", "fchmodat", "fchmod"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
        ],
    }
    write_config(bundle, config)
    res = runtime("run", "--bundle", str(bundle), "sr")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "Permission denied" in lines[0]
    assert "chmod-644-ok" in lines
    assert lines[-1] == "chmod-777-blocked"


def test_cgroup_namespace_sees_own_cgroup(runtime: Runtime) -> None:
    """With a cgroup namespace the container's /sys/fs/cgroup/pids is its own cgroup (1 process: sh)."""
    script = "grep pids /proc/self/cgroup; wc -l < /sys/fs/cgroup/pids/cgroup.procs"
    bundle = runtime.bundle("cgns", ["sh", "-c", script])
    config = json.loads((bundle / "config.json").read_text())
    config["linux"]["namespaces"].append({"type": "cgroup"})
    write_config(bundle, config)
    res = runtime("run", "--bundle", str(bundle), "cgns")
    assert res.returncode == 0, res.stderr
    line, count = res.stdout.split()
    assert line.endswith(":pids:/")
    assert int(count) <= 2  # sh and wc
