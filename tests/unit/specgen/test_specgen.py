"""skiff.core.specgen: the default spec against what dockerd 20.10 generated, and each option."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from skiff.core import specgen

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).parent / "golden"
DOCKER = json.loads((GOLDEN / "docker-20.10-busybox-sleep.json").read_text())
CID = "a7dbf7eb892843ab457779f29ccc791daf2fa01e74a4043746d3714ff58d8650"


def busybox_sleep() -> specgen.Spec:
    return specgen.generate(
        specgen.with_process_args(["sleep", "60"]),
        specgen.with_env([f"HOSTNAME={CID[:12]}"]),
        specgen.with_user(0, 0, [0]),
        specgen.with_hostname(CID[:12]),
        specgen.with_cgroups_path(f"/skiff/{CID}"),
    )


def test_golden_busybox_sleep() -> None:
    """The whole spec for ``docker run busybox sleep 60``; SKIFF_UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / "skiff-busybox-sleep.json"
    rendered = json.dumps(busybox_sleep(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("SKIFF_UPDATE_GOLDEN") == "1":
        path.write_text(rendered)
    assert rendered == path.read_text()


def test_default_matches_dockers_security_settings() -> None:
    spec = busybox_sleep()
    assert spec["process"]["capabilities"] == DOCKER["process"]["capabilities"]
    assert spec["process"]["user"] == DOCKER["process"]["user"]
    assert spec["process"]["env"] == DOCKER["process"]["env"]
    assert spec["process"]["args"] == DOCKER["process"]["args"]
    assert spec["hostname"] == DOCKER["hostname"]
    for key in ("maskedPaths", "readonlyPaths", "sysctl"):
        assert spec["linux"][key] == DOCKER["linux"][key], key
    assert spec["linux"]["resources"]["devices"] == DOCKER["linux"]["resources"]["devices"]
    assert sorted(n["type"] for n in spec["linux"]["namespaces"]) == sorted(
        n["type"] for n in DOCKER["linux"]["namespaces"]
    )
    # Docker's mounts minus the cgroup mount and the per-container binds, in the same order.
    docker_mounts = [m for m in DOCKER["mounts"] if m["type"] not in ("bind", "cgroup")]
    assert spec["mounts"] == docker_mounts
    assert spec["linux"]["cgroupsPath"] == f"/skiff/{CID}"


def test_env_gets_a_path_when_it_has_none() -> None:
    assert specgen.generate(specgen.with_env(["A=1"]))["process"]["env"] == [specgen.DEFAULT_PATH_ENV, "A=1"]
    assert specgen.generate(specgen.with_env(["PATH=/x"]))["process"]["env"] == ["PATH=/x"]


def test_capabilities_add_drop_all() -> None:
    caps = specgen.generate(specgen.with_capabilities(add=["net_admin", "CAP_SYS_TIME"], drop=["MKNOD"]))
    bounding = caps["process"]["capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in bounding and "CAP_SYS_TIME" in bounding and "CAP_MKNOD" not in bounding
    assert (
        caps["process"]["capabilities"]["effective"]
        == bounding
        == caps["process"]["capabilities"]["permitted"]
    )
    only = specgen.generate(specgen.with_capabilities(add=["CHOWN"], drop=["ALL"]))
    assert only["process"]["capabilities"]["bounding"] == ["CAP_CHOWN"]


def test_privileged() -> None:
    spec = specgen.generate(specgen.with_privileged())
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]
    assert spec["linux"]["maskedPaths"] == [] and spec["linux"]["readonlyPaths"] == []
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert "ro" not in next(m for m in spec["mounts"] if m["destination"] == "/sys")["options"]


def test_namespaces() -> None:
    spec = specgen.generate(specgen.without_namespace("network"))
    assert {"type": "network"} not in spec["linux"]["namespaces"] and spec["linux"]["sysctl"] == {}
    joined = specgen.generate(specgen.with_namespace_path("network", "/proc/1/ns/net"))
    assert {"type": "network", "path": "/proc/1/ns/net"} in joined["linux"]["namespaces"]
    assert [n["type"] for n in joined["linux"]["namespaces"]].count("network") == 1


def test_mounts_resources_and_misc() -> None:
    spec = specgen.generate(
        specgen.with_mounts([specgen.bind_mount("/h", "/dev/shm", readonly=True)]),
        specgen.with_shm_size(1024),
        specgen.with_memory_limit(1 << 20, swap=2 << 20),
        specgen.with_cpu_shares(512),
        specgen.with_cpu_quota(50000, 100000),
        specgen.with_pids_limit(10),
        specgen.with_rlimits([{"Name": "nofile", "Soft": 10, "Hard": 20}]),
        specgen.with_readonly_rootfs(),
        specgen.with_terminal(True),
        specgen.with_cwd(""),
        specgen.with_annotations({"a": "b"}),
        specgen.with_seccomp({"defaultAction": "SCMP_ACT_ALLOW"}),
    )
    shm = [m for m in spec["mounts"] if m["destination"] == "/dev/shm"]
    assert shm == [
        {"destination": "/dev/shm", "type": "bind", "source": "/h", "options": ["rbind", "rprivate", "ro"]}
    ]
    res = spec["linux"]["resources"]
    assert res["memory"] == {"limit": 1 << 20, "swap": 2 << 20} and res["cpu"] == {
        "shares": 512,
        "quota": 50000,
        "period": 100000,
    }
    assert res["pids"] == {"limit": 10}
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 20, "soft": 10}]
    assert spec["root"] == {"path": "rootfs", "readonly": True} and spec["process"]["terminal"] is True
    assert spec["process"]["cwd"] == "/" and spec["annotations"] == {"a": "b"}
    assert spec["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW"}
    assert "seccomp" not in specgen.generate(specgen.with_seccomp(None))["linux"]
    assert json.loads(specgen.to_json(spec)) == spec


def test_generate_returns_independent_specs() -> None:
    a = specgen.generate()
    a["process"]["capabilities"]["bounding"].append("CAP_X")
    a["mounts"][0]["options"].append("x")
    b = specgen.generate()
    assert "CAP_X" not in b["process"]["capabilities"]["bounding"] and "x" not in b["mounts"][0]["options"]


def test_with_init_wraps_the_args_and_binds_the_init_read_only() -> None:
    """As dockerd 20.10 wrote it for ``docker run --init busybox sleep 100``."""
    spec = specgen.generate(
        specgen.with_process_args(["sleep", "100"]), specgen.with_init("/usr/bin/docker-init")
    )
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "sleep", "100"]
    init_mounts = [m for m in spec["mounts"] if m["destination"] == "/sbin/docker-init"]
    assert init_mounts == [
        {
            "destination": "/sbin/docker-init",
            "type": "bind",
            "source": "/usr/bin/docker-init",
            "options": ["bind", "ro"],
        }
    ]
