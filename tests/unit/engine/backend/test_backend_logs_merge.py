"""json-file log reading (since/until/tail/timestamps, follow), the create-body merge and the run spec."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.engine.backend import jsonlog, merge, runspec, stdcopy
from skiff.engine.backend.record import Container

pytestmark = pytest.mark.unit
S = 1_000_000_000


def write_log(path: Path) -> None:
    lines = [
        {"log": "out1\n", "stream": "stdout", "time": "2026-11-27T13:01:59.576722283Z"},
        {"log": "err1\n", "stream": "stderr", "time": "2026-11-27T13:01:59.576913427Z"},
        {"log": "out2\n", "stream": "stdout", "time": "2026-11-27T13:02:00.578005839Z"},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + "not json\n")


def render_all(path: Path, opts: jsonlog.LogOptions, tty: bool = False) -> bytes:
    return b"".join(
        jsonlog.render(e, opts, tty) for e in jsonlog.select(jsonlog.read_entries(str(path)), opts)
    )


def test_log_selection(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write_log(log)
    everything = jsonlog.LogOptions()
    assert stdcopy.split(render_all(log, everything)) == [(1, b"out1\n"), (2, b"err1\n"), (1, b"out2\n")]
    assert stdcopy.split(render_all(log, jsonlog.LogOptions(stderr=False))) == [
        (1, b"out1\n"),
        (1, b"out2\n"),
    ]
    assert stdcopy.split(render_all(log, jsonlog.LogOptions(tail=1))) == [(1, b"out2\n")]
    assert render_all(log, jsonlog.LogOptions(tail=0)) == b""
    # as the reference answered: since=1795784520 until=1795784520.58 -> out2 only (bounds inclusive)
    window = jsonlog.LogOptions(since_ns=1795784520 * S, until_ns=1795784520 * S + 580000000)
    assert stdcopy.split(render_all(log, window)) == [(1, b"out2\n")]
    assert render_all(log, jsonlog.LogOptions(until_ns=1795784519 * S)) == b""
    assert render_all(log, everything, tty=True) == b"out1\nerr1\nout2\n"
    assert jsonlog.read_entries(str(tmp_path / "missing.log")) == []


def test_log_timestamps_have_nine_digits(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    log.write_text(json.dumps({"log": "x\n", "stream": "stdout", "time": "2026-11-27T13:02:00.5Z"}) + "\n")
    out = render_all(log, jsonlog.LogOptions(timestamps=True))
    assert stdcopy.split(out) == [(1, b"2026-11-27T13:02:00.500000000Z x\n")]


def test_follow_reads_appended_lines_until_done(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write_log(log)
    start = jsonlog.size(str(log))
    done = False

    async def scenario() -> bytes:
        nonlocal done
        chunks: list[bytes] = []

        async def consume() -> None:
            async for chunk in jsonlog.follow(
                str(log), start, jsonlog.LogOptions(), False, lambda: done, 0.01
            ):
                chunks.append(chunk)

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.02)
        with log.open("a") as f:
            f.write(json.dumps({"log": "late\n", "stream": "stderr", "time": "2026-11-27T13:03:00Z"}) + "\n")
        done = True
        await asyncio.wait_for(task, 5)
        return b"".join(chunks)

    assert stdcopy.split(asyncio.run(scenario())) == [(2, b"late\n")]


# ---------- merge ----------
IMAGE = {
    "Env": ["PATH=/bin", "A=image"],
    "Cmd": ["sh"],
    "Entrypoint": None,
    "WorkingDir": "/w",
    "User": "nobody",
    "Labels": {"from": "image", "x": "image"},
    "ExposedPorts": {"80/tcp": {}},
    "Volumes": {"/data": {}},
}


def test_merge_fills_what_the_user_left_empty() -> None:
    out = merge.merge_image({"Env": ["A=user", "B=1"], "Labels": {"x": "user"}}, IMAGE)
    assert out["Env"] == ["A=user", "B=1", "PATH=/bin"]
    assert out["Cmd"] == ["sh"] and out["WorkingDir"] == "/w" and out["User"] == "nobody"
    assert out["Labels"] == {"from": "image", "x": "user"}
    assert out["ExposedPorts"] == {"80/tcp": {}} and out["Volumes"] == {"/data": {}}


def test_user_entrypoint_drops_image_cmd() -> None:
    out = merge.merge_image({"Entrypoint": ["echo"]}, IMAGE)
    assert out["Entrypoint"] == ["echo"] and out.get("Cmd") is None
    assert merge.command(out) == ("echo", [])
    out = merge.merge_image({"Cmd": ["ls", "-l"]}, {**IMAGE, "Entrypoint": ["/init"]})
    assert merge.command(out) == ("/init", ["ls", "-l"])
    with pytest.raises(errdefs.InvalidArgument, match=r"^No command specified$"):
        merge.command(merge.merge_image({}, {}))


def test_host_config_defaults_like_docker() -> None:
    hc = merge.host_config(
        {
            "NetworkMode": "",
            "PidsLimit": 0,
            "MemorySwappiness": -1,
            "Dns": None,
            "LogConfig": {"Type": "", "Config": None},
        }
    )
    assert hc["NetworkMode"] == "default" and hc["PidsLimit"] is None and hc["MemorySwappiness"] is None
    assert hc["Dns"] == [] and hc["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert hc["IpcMode"] == "private" and hc["Runtime"] == "runc" and hc["ConsoleSize"] == [0, 0]
    assert hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert merge.host_config({"Privileged": True})["MaskedPaths"] is None
    with pytest.raises(errdefs.InvalidArgument, match=r"no log driver named 'syslog'"):
        merge.host_config({"LogConfig": {"Type": "syslog"}})


def test_fill_config_has_every_field() -> None:
    cfg = merge.fill_config({"Cmd": ["sh"], "ExposedPorts": {"80/tcp": {}}, "StopSignal": ""})
    assert set(merge.CONFIG_TEMPLATE) <= set(cfg)
    assert cfg["ExposedPorts"] == {"80/tcp": {}} and "StopSignal" not in cfg and cfg["Env"] is None


# ---------- run spec ----------
def record(tmp_path: Path, **config: object) -> Container:
    rec = Container(
        id="ab" * 32,
        name="/t",
        created="2026-11-27T13:00:00Z",
        path="sh",
        args=["-c", "true"],
        config={"Env": ["PATH=/bin", "X=1"], **config},
        host_config=merge.host_config({}),
        image="sha256:" + "0" * 64,
    )
    runspec.write_etc_files(rec, tmp_path)
    return rec


def test_run_spec_env_and_files(tmp_path: Path) -> None:
    rec = record(tmp_path)
    assert runspec.docker_env(rec) == ["PATH=/bin", "HOSTNAME=abababababab", "X=1"]
    assert (tmp_path / "hostname").read_text() == "abababababab\n"
    assert "localhost" in (tmp_path / "hosts").read_text()
    assert "nameserver" in (tmp_path / "resolv.conf").read_text()
    spec = runspec.build_spec(rec)
    assert spec["process"]["args"] == ["sh", "-c", "true"]
    assert spec["mounts"][-3:] == [
        {
            "destination": "/etc/resolv.conf",
            "type": "bind",
            "source": str(tmp_path / "resolv.conf"),
            "options": ["rbind", "rprivate"],
        },
        {
            "destination": "/etc/hostname",
            "type": "bind",
            "source": str(tmp_path / "hostname"),
            "options": ["rbind", "rprivate"],
        },
        {
            "destination": "/etc/hosts",
            "type": "bind",
            "source": str(tmp_path / "hosts"),
            "options": ["rbind", "rprivate"],
        },
    ]


def test_run_spec_host_config(tmp_path: Path) -> None:
    rec = record(tmp_path, Tty=True)
    rec.host_config = merge.host_config(
        {
            "Binds": ["/src:/dst:ro"],
            "Memory": 100 * 1024 * 1024,
            "CapAdd": ["NET_ADMIN"],
            "CapDrop": ["MKNOD"],
            "NetworkMode": "host",
            "ReadonlyRootfs": True,
            "Tmpfs": {"/run": "size=1m"},
        }
    )
    spec = runspec.build_spec(rec)
    assert "TERM=xterm" in spec["process"]["env"]
    caps = spec["process"]["capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in caps and "CAP_MKNOD" not in caps
    assert {"type": "network"} not in spec["linux"]["namespaces"]
    # dockerd doubles Memory into MemorySwap when none is given
    assert spec["linux"]["resources"]["memory"] == {"limit": 100 * 1024 * 1024, "swap": 200 * 1024 * 1024}
    assert spec["root"]["readonly"] is True
    binds = {m["destination"]: m for m in spec["mounts"]}
    assert binds["/dst"]["options"] == ["rbind", "rprivate", "ro"] and binds["/run"]["type"] == "tmpfs"


def test_run_spec_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HostConfig.Init: the daemon's init-path, else docker-init on PATH, else dockerd's LookPath error."""
    rec = record(tmp_path)
    rec.host_config = merge.host_config({"Init": True})
    spec = runspec.build_spec(rec, "/opt/tini")
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "sh", "-c", "true"]
    init = dict(destination="/sbin/docker-init", type="bind", source="/opt/tini", options=["bind", "ro"])
    assert init in spec["mounts"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker-init").write_bytes(b"")
    (bin_dir / "docker-init").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert runspec.build_spec(rec)["mounts"][-1]["source"] == str(bin_dir / "docker-init")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(errdefs.Unknown, match=r'^exec: "docker-init": executable file not found in \$PATH$'):
        runspec.build_spec(rec)
    rec.host_config = merge.host_config({"Init": False})
    assert runspec.build_spec(rec)["process"]["args"] == ["sh", "-c", "true"]


def test_user_resolution_reads_the_rootfs(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "etc").mkdir(parents=True)
    (upper / "etc").mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (upper / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    mounts = [
        {
            "type": "overlay",
            "source": "overlay",
            "options": [f"lowerdir={lower}", f"upperdir={upper}", "workdir=/w"],
        }
    ]
    assert runspec.resolve_user("", mounts) == (0, 0, [0])
    assert runspec.resolve_user("nobody", mounts) == (65534, 65534, [65534])
    assert runspec.resolve_user("nobody:staff", mounts) == (65534, 50, [50])
    assert runspec.resolve_user("1000:1000", mounts) == (1000, 1000, [1000])
    with pytest.raises(errdefs.InvalidArgument, match=r"unable to find user ghost"):
        runspec.resolve_user("ghost", mounts)


# ---------- docker diff ----------
def test_fsdiff_changes(tmp_path: Path) -> None:
    import os
    import stat

    from skiff.engine.backend import fsdiff

    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in ("bin", "etc", "tmp"):
        (lower / d).mkdir(parents=True)
    (lower / "bin" / "ls").write_text("ls")
    (lower / "etc" / "passwd").write_text("root")
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("root\nz")
    (upper / "etc" / "hostname").write_text("h")  # a runtime mount point: hidden
    (upper / "tmp" / "d").mkdir(parents=True)
    (upper / "tmp" / "d" / "f").write_text("y")
    (upper / "newfile").write_text("x")
    (upper / "proc").mkdir()
    whiteout = os.geteuid() == 0
    if whiteout:
        (upper / "bin").mkdir()
        os.mknod(upper / "bin" / "ls", stat.S_IFCHR | 0o600, 0)
    got = fsdiff.changes(str(upper), [str(lower)])
    expected = [
        *([{"Path": "/bin", "Kind": 0}, {"Path": "/bin/ls", "Kind": 2}] if whiteout else []),
        {"Path": "/etc", "Kind": 0},
        {"Path": "/etc/passwd", "Kind": 0},
        {"Path": "/newfile", "Kind": 1},
        {"Path": "/tmp", "Kind": 0},
        {"Path": "/tmp/d", "Kind": 1},
        {"Path": "/tmp/d/f", "Kind": 1},
    ]
    assert got == expected
    only_mountpoint = tmp_path / "upper2"
    (only_mountpoint / "etc").mkdir(parents=True)
    (only_mountpoint / "etc" / "hosts").write_text("")
    assert fsdiff.changes(str(only_mountpoint), [str(lower)]) == []
    mounts = [{"type": "overlay", "options": [f"lowerdir={lower}:/l2", f"upperdir={upper}", "workdir=/w"]}]
    assert fsdiff.overlay_dirs(mounts) == (str(upper), [str(lower), "/l2"])


# ---------- docker export ----------
def test_export_merges_layers(tmp_path: Path) -> None:
    import io
    import os
    import stat
    import tarfile

    from skiff.engine.backend import export

    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "bin").mkdir(parents=True)
    (lower / "bin" / "sh").write_text("sh")
    (lower / "bin" / "ls").write_text("ls")
    (lower / "etc").mkdir()
    (lower / "etc" / "passwd").write_text("old")
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("new")
    (upper / "new").write_text("x")
    if os.geteuid() == 0:
        (upper / "bin").mkdir()
        os.mknod(upper / "bin" / "ls", stat.S_IFCHR | 0o600, 0)
    names = sorted(rel for rel, _full in export.merged([str(upper), str(lower)]))
    if os.geteuid() == 0:
        assert names == ["bin", "bin/sh", "etc", "etc/passwd", "new"]

    async def collect() -> bytes:
        return b"".join([c async for c in export.stream([str(upper), str(lower)])])

    data = asyncio.run(collect())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        passwd = tar.extractfile(members["etc/passwd"])
        assert passwd is not None and passwd.read() == b"new"
    assert "bin/sh" in members and "new" in members
    if os.geteuid() == 0:
        assert "bin/ls" not in members


def test_read_entries_batch_and_line_by_line_agree(tmp_path: Path) -> None:
    """The one-array parse of a clean log and the per-line parse of a damaged one give the same entries;
    a line's time is parsed only when asked."""
    clean, damaged = tmp_path / "clean.log", tmp_path / "damaged.log"
    write_log(damaged)
    clean.write_text("".join(line + "\n" for line in damaged.read_text().splitlines()[:3]))
    assert jsonlog.read_entries(str(clean)) == jsonlog.read_entries(str(damaged))
    entries = jsonlog.read_entries(str(clean))
    assert [(e.stream, e.data) for e in entries] == [("stdout", b"out1\n"), ("stderr", b"err1\n"),
                                                     ("stdout", b"out2\n")]
    assert entries[0]._ns == -1 and entries[0].time_ns == 1795784519 * S + 576722283
    chunks = b"".join(jsonlog.render_batched(entries, jsonlog.LogOptions(), False))
    assert stdcopy.split(chunks) == [(1, b"out1\n"), (2, b"err1\n"), (1, b"out2\n")]


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("opts", [
    jsonlog.LogOptions(), jsonlog.LogOptions(stderr=False), jsonlog.LogOptions(stdout=False),
    jsonlog.LogOptions(tail=1), jsonlog.LogOptions(timestamps=True),
    jsonlog.LogOptions(since_ns=1795784520 * S),
])
def test_render_log_fast_path_matches_the_entries_path(tmp_path: Path, opts: jsonlog.LogOptions,
                                                      tty: bool) -> None:
    damaged = tmp_path / "damaged.log"
    write_log(damaged)
    clean = tmp_path / "clean.log"
    clean.write_text("".join(line + "\n" for line in damaged.read_text().splitlines()[:3]))
    want = render_all(damaged, opts, tty)
    assert b"".join(jsonlog.render_log(str(clean), opts, tty, limit=10)) == want
    assert b"".join(jsonlog.render_log(str(damaged), opts, tty)) == want
    assert b"".join(jsonlog.render_log(str(tmp_path / "missing.log"), opts, tty)) == b""
