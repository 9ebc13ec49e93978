"""HostConfig -> OCI spec: capabilities, seccomp filtering, security options, cpu/memory/devices, groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from skiff import errdefs
from skiff.core import specgen
from skiff.core.specopts import resources

pytestmark = pytest.mark.unit


def _spec(hc: dict[str, Any], config: dict[str, Any] | None = None, layers: tuple[str, ...] = ()) -> Any:
    return specgen.generate(resources.with_host_config(config or {}, hc, layers))


def test_cap_names_with_and_without_prefix() -> None:
    caps = resources.tweak_capabilities(
        specgen.DEFAULT_CAPABILITIES, ["net_admin", "CAP_SYS_TIME"], ["chown"]
    )
    assert "CAP_NET_ADMIN" in caps and "CAP_SYS_TIME" in caps and "CAP_CHOWN" not in caps


def test_cap_drop_all_then_add() -> None:
    assert resources.tweak_capabilities(specgen.DEFAULT_CAPABILITIES, ["chown"], ["ALL"]) == ["CAP_CHOWN"]


def test_cap_add_all() -> None:
    caps = resources.tweak_capabilities(specgen.DEFAULT_CAPABILITIES, ["ALL"], ["CAP_SYS_ADMIN"])
    assert len(caps) == len(specgen.ALL_CAPABILITIES) - 1


def test_unknown_capability_is_invalid() -> None:
    with pytest.raises(errdefs.InvalidArgument, match='invalid CapAdd: unknown capability: "CAP_FOO"'):
        _spec({"CapAdd": ["foo"]})


PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
    "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["arm_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
    ],
}


def test_seccomp_filtered_by_caps_arch_kernel() -> None:
    out = resources.seccomp_to_oci(PROFILE, ["CAP_CHOWN"], goarch="amd64", kernel="4.4.0")
    names = [n for r in out["syscalls"] for n in r["names"]]
    assert names == ["read", "clone"]
    assert out["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert out["defaultErrnoRet"] == 1
    out = resources.seccomp_to_oci(PROFILE, ["CAP_SYS_ADMIN"], goarch="amd64", kernel="6.1.0")
    assert [n for r in out["syscalls"] for n in r["names"]] == ["read", "ptrace", "mount"]


def test_security_opts() -> None:
    spec = _spec({"SecurityOpt": ["seccomp=unconfined", "no-new-privileges"]})
    assert "seccomp" not in spec["linux"] and spec["process"]["noNewPrivileges"] is True
    spec = _spec({"SecurityOpt": ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']})
    assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW"
    with pytest.raises(errdefs.InvalidArgument, match="Invalid --security-opt"):
        _spec({"SecurityOpt": ["foo"]})
    with pytest.raises(errdefs.InvalidArgument, match="decoding seccomp profile failed"):
        _spec({"SecurityOpt": ["seccomp={bad"]})


def test_privileged_has_no_seccomp() -> None:
    assert "seccomp" not in _spec({"Privileged": True})["linux"]


def test_nano_cpus_cpuset_and_swap_default() -> None:
    spec = _spec({"NanoCpus": 500_000_000, "CpusetCpus": "0", "Memory": 64 << 20})
    res = spec["linux"]["resources"]
    assert res["cpu"] == {"period": 100_000, "quota": 50_000, "cpus": "0"}
    assert res["memory"]["swap"] == 128 << 20


def test_device_cgroup_rules() -> None:
    assert resources.parse_device_rule("c 1:* rwm") == {
        "allow": True,
        "type": "c",
        "major": 1,
        "access": "rwm",
    }
    with pytest.raises(errdefs.InvalidArgument, match="invalid device cgroup format"):
        resources.parse_device_rule("x 1:2")


def test_devices_from_host() -> None:
    spec = _spec(
        {
            "Devices": [
                {"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "rw"}
            ]
        }
    )
    dev = spec["linux"]["devices"][0]
    assert (dev["path"], dev["type"], dev["major"], dev["minor"]) == ("/dev/mynull", "c", 1, 3)
    assert spec["linux"]["resources"]["devices"][-1]["access"] == "rw"


def test_groups_from_image_and_group_add(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/h:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\nbob:x:1000:\nwheel:x:10:bob,al\naudio:x:29:\n")
    assert resources.supplementary_groups("bob", 1000, ["audio", "7"], [str(tmp_path)]) == [1000, 10, 29, 7]
    assert resources.supplementary_groups("1000:1000", 1000, [], [str(tmp_path)]) == [1000, 10]
    with pytest.raises(errdefs.InvalidArgument, match="Unable to find group nope"):
        resources.supplementary_groups("bob", 1000, ["nope"], [str(tmp_path)])


def test_reap_cgroups_takes_only_old_empty_unknown_ones(tmp_path: Path) -> None:
    import os

    base = tmp_path / "memory" / "skiff"
    for name in ("gone", "busy", "live", "young"):
        (base / name).mkdir(parents=True)
    (base / "busy" / "cgroup.procs").write_text("12\n")
    for name in ("gone", "busy", "live"):
        os.utime(base / name, (0, 0))
    removed = resources.reap_cgroups("/skiff", {"live"}, root=str(tmp_path))
    assert removed == [str(base / "gone")]
    assert sorted(p.name for p in base.iterdir()) == ["busy", "live", "young"]


def test_update_resources_from_an_update_body() -> None:
    body = {"Memory": 96 << 20, "MemorySwap": 192 << 20, "NanoCpus": 500_000_000, "PidsLimit": 30}
    assert resources.update_resources(body) == {
        "memory": {"limit": 96 << 20, "swap": 192 << 20},
        "cpu": {"period": 100_000, "quota": 50_000},
        "pids": {"limit": 30},
    }
