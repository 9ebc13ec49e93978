"""Healthchecks without a daemon: dockerd's rules for the HEALTHCHECK instruction, create validation, the
probe command, Go durations, and handleProbeResult's state machine (streak, retries, start period, log)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from skiff import errdefs
from skiff.engine.backend import health, timefmt

pytestmark = pytest.mark.unit


def test_instruction_shell_and_exec_forms() -> None:
    line = "--interval=1s --timeout=2s --start-period=3s --retries=4 CMD test -e /x"
    assert health.parse_instruction(line) == {
        "Test": ["CMD-SHELL", "test -e /x"], "Interval": 1_000_000_000, "Timeout": 2_000_000_000,
        "StartPeriod": 3_000_000_000, "Retries": 4,
    }
    assert health.parse_instruction('CMD ["true", "x"]') == {"Test": ["CMD", "true", "x"]}
    assert health.parse_instruction("none") == {"Test": ["NONE"]}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--interval=0.5ms CMD true", 'Interval "interval" cannot be less than 1ms'),
        ("--bogus=1 CMD true", "Unknown flag: bogus"),
        ("foo", 'Unknown type "FOO" in HEALTHCHECK (try CMD)'),
        ("CMD", "Missing command after HEALTHCHECK CMD"),
        ("--retries=0 CMD true", "--retries must be at least 1 (not 0)"),
    ],
)
def test_instruction_errors(line: str, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        health.parse_instruction(line)


@pytest.mark.parametrize(
    ("hc", "message"),
    [
        ({"Interval": 500}, "Interval in Healthcheck cannot be less than 1ms"),
        ({"Timeout": 5}, "Timeout in Healthcheck cannot be less than 1ms"),
        ({"StartPeriod": 5}, "StartPeriod in Healthcheck cannot be less than 1ms"),
        ({"Retries": -1}, "Retries in Healthcheck cannot be negative"),
    ],
)
def test_create_validation(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=message):
        health.validate({"Healthcheck": {"Test": ["CMD", "true"], **hc}})
    health.validate({"Healthcheck": {"Test": ["CMD", "true"], "Interval": 0}})


def test_probe_command() -> None:
    shell_form = {"Healthcheck": {"Test": ["CMD-SHELL", "exit 0"]}}
    assert health.probe_command(shell_form) == ["/bin/sh", "-c", "exit 0"]
    own_shell = {"Shell": ["/bin/ash", "-e", "-c"], "Healthcheck": {"Test": ["CMD-SHELL", "x"]}}
    assert health.probe_command(own_shell) == ["/bin/ash", "-e", "-c", "x"]
    assert health.probe_command({"Healthcheck": {"Test": ["CMD", "a", "b"]}}) == ["a", "b"]
    for test in ([], ["NONE"], ["BOGUS", "x"]):
        assert health.probe_command({"Healthcheck": {"Test": test}}) is None
    assert health.probe_command({}) is None


def test_go_duration() -> None:
    got = [health.go_duration(n) for n in (0, 12, 1500, 500_000_000, 1_000_000_000, 1_500_000_000,
                                            90_000_000_000, 7_200_000_000_000)]
    assert got == ["0s", "12ns", "1.5µs", "500ms", "1s", "1.5s", "1m30s", "2h0m0s"]


@dataclass
class _State:
    running: bool = True
    started_at: str = "2026-01-01T00:00:00Z"


@dataclass
class _Record:
    config: dict[str, Any]
    id: str = "c1"
    state: _State = field(default_factory=_State)


class _Containers:
    def __init__(self) -> None:
        self.events: list[str] = []
        self._background: set[Any] = set()

    def _publish(self, record: Any, action: str, **extra: str) -> None:
        self.events.append(action)


def _result(code: int, after_start_s: float) -> dict[str, Any]:
    stamp = timefmt.format_ns(timefmt.parse_ns("2026-01-01T00:00:00Z") + int(after_start_s * 1e9))
    return {"Start": stamp, "End": stamp, "ExitCode": code, "Output": ""}


def test_results_drive_status_streak_events_and_log() -> None:
    containers = _Containers()
    monitor = health.HealthMonitor(containers)
    record = _Record({"Healthcheck": {"Test": ["CMD", "x"], "Retries": 2}})
    monitor.health[record.id] = health.Health()
    monitor._record(record, _result(1, 1))
    assert (monitor.status("c1"), monitor.health["c1"].failing_streak) == ("starting", 1)
    monitor._record(record, _result(1, 2))
    assert monitor.status("c1") == "unhealthy"
    monitor._record(record, _result(0, 3))
    assert (monitor.status("c1"), monitor.health["c1"].failing_streak) == ("healthy", 0)
    for i in range(4):
        monitor._record(record, _result(0, 4 + i))
    assert len(monitor.health["c1"].log) == 5
    assert containers.events == ["health_status: unhealthy", "health_status: healthy"]
    monitor.stopped("c1")
    assert monitor.status("c1") == "unhealthy" and containers.events[-1] == "health_status: healthy"
    monitor.removed("c1")
    assert monitor.state("c1") is None and monitor.status("c1") == "none"


def test_start_period_failures_do_not_count() -> None:
    containers = _Containers()
    monitor = health.HealthMonitor(containers)
    record = _Record({"Healthcheck": {"Test": ["CMD", "x"], "Retries": 1, "StartPeriod": 10_000_000_000}})
    monitor.health[record.id] = health.Health()
    monitor._record(record, _result(1, 5))
    assert (monitor.status("c1"), monitor.health["c1"].failing_streak) == ("starting", 0)
    monitor._record(record, _result(1, 11))
    assert monitor.status("c1") == "unhealthy"
