"""Seccomp filters from ``linux.seccomp`` through libseccomp (ctypes), as runc does with libseccomp-golang.

The filter is built in ``create`` before forking (so libseccomp is loaded while the host's libraries
are reachable) and loaded by the init: before the user switch when ``noNewPrivileges`` is false (loading
then needs CAP_SYS_ADMIN, which is dropped later), otherwise right before execve. Rules whose action is
the default action are skipped and unknown syscall names ignored, like runc.
"""

from __future__ import annotations

import ctypes
import os

from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from skiff.oci.runtime import Seccomp, SyscallArg

EPERM = 1
ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000, "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000, "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000,
}
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
             "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
SCMP_FLTATR_CTL_NNP = 3
SCMP_FLTATR_CTL_TSYNC = 4
SCMP_FLTATR_CTL_LOG = 6
SCMP_FLTATR_CTL_SSB = 7
FLAG_ATTRS = {"SECCOMP_FILTER_FLAG_TSYNC": SCMP_FLTATR_CTL_TSYNC,
              "SECCOMP_FILTER_FLAG_LOG": SCMP_FLTATR_CTL_LOG,
              "SECCOMP_FILTER_FLAG_SPEC_ALLOW": SCMP_FLTATR_CTL_SSB}
NR_SCMP_ERROR = -1
EEXIST = 17


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def action_value(action: str, errno_ret: int | None = None) -> int:
    """The libseccomp action word: ERRNO and TRACE carry a 16-bit value (EPERM unless given)."""
    if action not in ACTIONS:
        raise ContainerError(f"seccomp action {action} is not supported")
    value = ACTIONS[action]
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        value |= (EPERM if errno_ret is None else errno_ret) & 0xFFFF
    return value


def arch_name(arch: str) -> str:
    """``SCMP_ARCH_X86_64`` -> ``x86_64`` (libseccomp's name)."""
    return arch.removeprefix("SCMP_ARCH_").lower()


def rule_arg_groups(args: tuple[SyscallArg, ...]) -> list[tuple[SyscallArg, ...]]:
    """runc's rule: conditions on distinct arguments are ANDed in one rule; if an argument index repeats,
    each condition becomes its own rule (ORed), since libseccomp cannot AND two tests of one argument."""
    if not args:
        return [()]
    indexes = [a.index for a in args]
    if len(set(indexes)) == len(indexes):
        return [args]
    return [(a,) for a in args]


class SeccompFilter:
    """A libseccomp filter context, built from the OCI profile; ``load`` installs it in the caller."""

    def __init__(self, profile: Seccomp, library: str = "libseccomp.so.2") -> None:
        try:
            lib = ctypes.CDLL(library, use_errno=True)
        except OSError as exc:
            raise ContainerError(f"seccomp: cannot load {library}: {exc}") from None
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        self._lib = lib
        default = action_value(profile.default_action, profile.default_errno_ret)
        ctx = lib.seccomp_init(default)
        if not ctx:
            raise ContainerError("seccomp: seccomp_init failed")
        self._ctx = ctx
        # loading without no_new_privs needs CAP_SYS_ADMIN, which the init still has at that point
        self._check(lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "disable NNP")
        for flag in profile.flags:
            if flag in FLAG_ATTRS:
                self._check(lib.seccomp_attr_set(ctx, FLAG_ATTRS[flag], 1), flag)
        for arch in profile.architectures:
            token = lib.seccomp_arch_resolve_name(arch_name(arch).encode())
            if not token:
                raise ContainerError(f"seccomp: unknown architecture {arch}")
            res = lib.seccomp_arch_add(ctx, token)
            if res < 0 and res != -EEXIST:
                self._check(res, f"add architecture {arch}")
        for rule in profile.syscalls:
            action = action_value(rule.action, rule.errno_ret)
            if action == default:
                continue
            for name in rule.names:
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == NR_SCMP_ERROR:
                    continue  # not a syscall of this kernel/arch: ignored, as runc does
                for group in rule_arg_groups(rule.args):
                    conds = (_ArgCmp * max(len(group), 1))()
                    for i, arg in enumerate(group):
                        if arg.op not in OPERATORS:
                            raise ContainerError(f"seccomp: unknown operator {arg.op}")
                        conds[i] = _ArgCmp(arg.index, OPERATORS[arg.op], arg.value, arg.value_two)
                    self._check(lib.seccomp_rule_add_array(ctx, action, nr, len(group), conds),
                                f"add rule for {name}")

    def _check(self, res: int, what: str) -> None:
        if res < 0:
            raise ContainerError(f"seccomp: {what}: {os.strerror(-res)}")

    def load(self) -> None:
        self._check(self._lib.seccomp_load(self._ctx), "load filter")
