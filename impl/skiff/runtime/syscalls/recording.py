"""A Syscalls fake for unit tests: records every call instead of touching the kernel."""

from __future__ import annotations


class RecordingSyscalls:
    """Records ``(name, *args)`` tuples in ``calls``; ``fail`` maps a call name to an errno to raise."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.fail = fail or {}

    def _record(self, name: str, *args: object) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            raise OSError(self.fail[name], f"{name} failed (recorded)")

    def unshare(self, flags: int) -> None:
        self._record("unshare", flags)

    def setns(self, fd: int, nstype: int) -> None:
        self._record("setns", fd, nstype)

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        self._record("mount", source, target, fstype, flags, data)

    def umount2(self, target: str, flags: int) -> None:
        self._record("umount2", target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._record("pivot_root", new_root, put_old)

    def sethostname(self, name: str) -> None:
        self._record("sethostname", name)

    def setdomainname(self, name: str) -> None:
        self._record("setdomainname", name)

    def prctl(self, option: int, arg2: int, arg3: int = 0) -> int:
        self._record("prctl", option, arg2, arg3)
        return 0

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        self._record("capset", effective, permitted, inheritable)

    def set_link_up(self, name: str) -> None:
        self._record("set_link_up", name)

    def reset_signals(self, signals: tuple[int, ...]) -> None:
        self._record("reset_signals", signals)

    def names(self) -> list[str]:
        return [str(call[0]) for call in self.calls]
