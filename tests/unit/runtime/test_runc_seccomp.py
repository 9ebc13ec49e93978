"""Seccomp: OCI profile model, action/arch/argument translation, and building a libseccomp filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from skiff.oci.runtime import Seccomp, SyscallArg
from skiff.runtime import seccomp
from skiff.runtime.errors import ContainerError

pytestmark = pytest.mark.unit

DOCKER_PROFILE = Path(__file__).parents[2] / "integration" / "runtime" / "data" / "docker-20.10-seccomp.json"


def test_action_values() -> None:
    assert seccomp.action_value("SCMP_ACT_ALLOW") == 0x7FFF0000
    assert seccomp.action_value("SCMP_ACT_ERRNO") == 0x00050001  # EPERM by default
    assert seccomp.action_value("SCMP_ACT_ERRNO", 38) == 0x00050026
    assert seccomp.action_value("SCMP_ACT_KILL_PROCESS") == 0x80000000
    with pytest.raises(ContainerError, match="not supported"):
        seccomp.action_value("SCMP_ACT_NOTIFY")


def test_arch_names() -> None:
    assert seccomp.arch_name("SCMP_ARCH_X86_64") == "x86_64"
    assert seccomp.arch_name("SCMP_ARCH_AARCH64") == "aarch64"


def test_argument_grouping() -> None:
    a0 = SyscallArg(index=0, value=1, op="SCMP_CMP_EQ")
    a1 = SyscallArg(index=1, value=2, op="SCMP_CMP_EQ")
    a0b = SyscallArg(index=0, value=8, op="SCMP_CMP_EQ")
    assert seccomp.rule_arg_groups(()) == [()]
    assert seccomp.rule_arg_groups((a0, a1)) == [(a0, a1)]
    assert seccomp.rule_arg_groups((a0, a0b)) == [(a0,), (a0b,)]


def test_profile_model() -> None:
    profile = Seccomp.from_dict(json.loads(DOCKER_PROFILE.read_text()))
    assert profile.default_action == "SCMP_ACT_ERRNO"
    assert "SCMP_ARCH_X86_64" in profile.architectures
    personality = [r for r in profile.syscalls if r.names == ("personality",)]
    assert personality and personality[0].args[0].op == "SCMP_CMP_EQ"


def test_builds_docker_profile() -> None:
    try:
        f = seccomp.SeccompFilter(Seccomp.from_dict(json.loads(DOCKER_PROFILE.read_text())))
    except ContainerError as exc:
        if "cannot load" in str(exc):
            pytest.skip("libseccomp not installed")
        raise
    assert f is not None  # built, not loaded: loading would filter the test process


def test_unknown_arch_refused() -> None:
    with pytest.raises(ContainerError):
        seccomp.SeccompFilter(Seccomp(default_action="SCMP_ACT_ALLOW", architectures=("SCMP_ARCH_PDP11",)))
