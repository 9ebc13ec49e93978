"""Healthchecks (``Config.Healthcheck`` / an image's HEALTHCHECK), as dockerd's daemon/health.go.

A running container whose test is ``CMD`` or ``CMD-SHELL`` gets one monitor task: every ``Interval`` it runs
the test through the exec backend (so ``exec_create``/``exec_start``/``exec_die`` events appear as with
dockerd), keeps ``State.Health`` (status, failing streak, the last five results) and publishes
``health_status: <status>`` when the status changes. The monitor ends when the container stops; a
paused container is not probed. A probe past its ``Timeout`` is recorded as exit -1 and its process killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.engine.backend import exec as exec_mod
from skiff.engine.backend import timefmt
from skiff.engine.streams import StdcopyDecoder

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_NS = 30 * 1_000_000_000
DEFAULT_TIMEOUT_NS = 30 * 1_000_000_000
DEFAULT_START_PERIOD_NS = 0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT_LEN = 4096
MINIMUM_DURATION_NS = 1_000_000  # 1ms

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
HEALTH_FILE = "health.json"


def validate(config: dict[str, Any]) -> None:
    """dockerd's verifyContainerSettings checks of a create body's Healthcheck (400 on failure)."""
    hc = config.get("Healthcheck")
    if not isinstance(hc, dict):
        return
    for key in ("Interval", "Timeout"):
        value = int(hc.get(key) or 0)
        if value != 0 and value < MINIMUM_DURATION_NS:
            raise errdefs.InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
    if int(hc.get("Retries") or 0) < 0:
        raise errdefs.InvalidArgument("Retries in Healthcheck cannot be negative")
    value = int(hc.get("StartPeriod") or 0)
    if value != 0 and value < MINIMUM_DURATION_NS:
        raise errdefs.InvalidArgument("StartPeriod in Healthcheck cannot be less than 1ms")


def merge_image(user: Any, image: dict[str, Any]) -> dict[str, Any]:
    """dockerd's merge of a create body's Healthcheck with the image's: the image fills in what the user
    left out (the test, and each zero duration or retry count); Go's field order, zero values omitted."""
    mine = user if isinstance(user, dict) else {}
    out: dict[str, Any] = {}
    for key in ("Test", "Interval", "Timeout", "StartPeriod", "Retries"):
        value = mine.get(key) or image.get(key)
        if value:
            out[key] = value
    return out


def probe_command(config: dict[str, Any]) -> list[str] | None:
    """The argv a healthcheck runs, or None when there is none (no test, NONE, or an unknown kind)."""
    hc = config.get("Healthcheck")
    if not isinstance(hc, dict):
        return None
    test = [str(t) for t in hc.get("Test") or []]
    if not test:
        return None
    if test[0] == "CMD":
        return test[1:]
    if test[0] == "CMD-SHELL":
        shell = [str(s) for s in config.get("Shell") or []] or ["/bin/sh", "-c"]
        return [*shell, *test[1:]]
    return None


def parse_instruction(rest: str) -> dict[str, Any]:
    """A ``HEALTHCHECK`` change line (``docker commit/import --change``) as an image config Healthcheck."""
    text = rest.strip()
    flags: dict[str, str] = {}
    while text.startswith("--"):
        word, _, text = text.partition(" ")
        text = text.strip()
        name, _, given = word[2:].partition("=")
        if name not in ("interval", "timeout", "start-period", "retries"):
            raise errdefs.InvalidArgument(f"Unknown flag: {name}")
        flags[name] = given
    kind, _, command = text.partition(" ")
    kind, command = kind.upper(), command.strip()
    if kind == "NONE":
        if command or flags:
            raise errdefs.InvalidArgument("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise errdefs.InvalidArgument(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if not command:
        raise errdefs.InvalidArgument("Missing command after HEALTHCHECK CMD")
    test: list[str] = ["CMD-SHELL", command]
    if command.startswith("["):
        with contextlib.suppress(ValueError):
            parsed = json.loads(command)
            if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
                test = ["CMD", *parsed]
    out: dict[str, Any] = {"Test": test}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod")):
        if flags.get(flag):
            try:
                value = timefmt.parse_go_duration(flags[flag])
            except ValueError as err:
                raise errdefs.InvalidArgument(str(err)) from None
            if value != 0 and value < MINIMUM_DURATION_NS:
                raise errdefs.InvalidArgument(f'Interval "{flag}" cannot be less than 1ms')
            if value:
                out[key] = value
    if flags.get("retries"):
        try:
            retries = int(flags["retries"])
        except ValueError:
            raise errdefs.InvalidArgument(
                f'strconv.ParseInt: parsing "{flags["retries"]}": invalid syntax') from None
        if retries < 1:
            raise errdefs.InvalidArgument(f"--retries must be at least 1 (not {retries})")
        out["Retries"] = retries
    return out


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 500ms, 1s, 1.5s, 1m30s, 2h0m0s."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                whole, frac = divmod(ns, size)
                digits = len(str(size)) - 1
                text = f"{whole}.{frac:0{digits}d}".rstrip("0").rstrip(".") if digits else str(whole)
                return f"{sign}{text}{unit}"
    hours, rest = divmod(ns, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    secs, frac = divmod(rest, 1_000_000_000)
    text = f"{secs}.{frac:09d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return f"{sign}{text}"


@dataclass
class Health:
    """Docker's container.Health (types.Health on the wire)."""

    status: str = STARTING
    failing_streak: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"Status": self.status, "FailingStreak": self.failing_streak, "Log": list(self.log)}

    def label(self) -> str:
        """What ``docker ps`` shows in parentheses after "Up ..."."""
        return "health: starting" if self.status == STARTING else self.status


def _ns(hc: dict[str, Any], key: str, default: int) -> int:
    value = int(hc.get(key) or 0)
    return value if value > 0 else default


class HealthMonitor:
    """The healthchecks of one containers backend: health by container ID and one monitor task each."""

    def __init__(self, containers: Any) -> None:
        self.containers = containers
        self.health: dict[str, Health] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    # ---------- persistence: health.json beside the container's record, as dockerd keeps State.Health ----
    def _path(self, cid: str) -> Path | None:
        store = getattr(self.containers, "store", None)
        return Path(store.dir(cid)) / HEALTH_FILE if store is not None else None

    def _get(self, cid: str) -> Health | None:
        health = self.health.get(cid)
        if health is not None:
            return health
        path = self._path(cid)
        if path is None or not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            health = Health(str(data["Status"]), int(data["FailingStreak"]), list(data.get("Log") or []))
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("cannot read %s: %s", path, err)
            return None
        self.health[cid] = health
        return health

    def _save(self, cid: str) -> None:
        health, path = self.health.get(cid), self._path(cid)
        if health is None or path is None or not path.parent.is_dir():
            return
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(health.to_json()))
            tmp.replace(path)
        except OSError as err:
            log.warning("cannot save %s: %s", path, err)

    # ---------- hooks called by the containers backend ----------
    def started(self, record: Any) -> None:
        """A container (re)started: status back to starting, streak 0 (the log is kept), monitor on."""
        self.stopped(record.id)
        if probe_command(record.config) is None:
            return
        health = self._get(record.id)
        if health is None:
            health = self.health[record.id] = Health()
        health.status, health.failing_streak = STARTING, 0
        self._save(record.id)
        task = asyncio.ensure_future(self._monitor(record))
        self.tasks[record.id] = task
        self.containers._background.add(task)  # the backend's close() cancels it with the rest
        task.add_done_callback(self.containers._background.discard)

    def ensure(self, record: Any) -> None:
        """A running container found at reconcile (skiffd restarted): monitor it unless already done."""
        task = self.tasks.get(record.id)
        if task is None or task.done():
            self.started(record)

    def stopped(self, cid: str) -> None:
        """The container's process ended (or it is restarting): no more probes. Health is kept, its status
        turned unhealthy without an event, as dockerd 20.10's SetStopped does."""
        task = self.tasks.pop(cid, None)
        if task is not None and not task.done():
            task.cancel()
        health = self._get(cid)
        if health is not None and health.status != UNHEALTHY:
            health.status = UNHEALTHY
            self._save(cid)

    def removed(self, cid: str) -> None:
        self.stopped(cid)
        self.health.pop(cid, None)

    # ---------- views ----------
    def state(self, cid: str) -> dict[str, Any] | None:
        health = self._get(cid)
        return health.to_json() if health is not None else None

    def status(self, cid: str) -> str:
        """The health filter's value: starting, healthy, unhealthy, or none without a healthcheck."""
        health = self._get(cid)
        return health.status if health is not None else NONE

    def decorate(self, record: Any, status: str) -> str:
        """dockerd's State.String(): "Up 3 seconds (healthy)" for a running container with a healthcheck."""
        health = self._get(record.id)
        st = record.state
        if health is None or not st.running or st.paused or st.restarting:
            return status
        return f"{status} ({health.label()})"

    # ---------- the monitor ----------
    async def _monitor(self, record: Any) -> None:
        hc = record.config.get("Healthcheck") or {}
        interval = _ns(hc, "Interval", DEFAULT_INTERVAL_NS) / 1e9
        while True:
            await asyncio.sleep(interval)
            st = record.state
            if not st.running or st.restarting:
                return
            if st.paused:
                continue
            try:
                result = await self._probe(record)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a probe that could not run is a failed probe, as in dockerd
                log.warning("Health check for container %s error: %s", record.id, err)
                stamp = timefmt.now()
                result = {"Start": stamp, "End": stamp, "ExitCode": -1, "Output": str(err)}
            self._record(record, result)

    async def _probe(self, record: Any) -> dict[str, Any]:
        hc = record.config.get("Healthcheck") or {}
        timeout_ns = _ns(hc, "Timeout", DEFAULT_TIMEOUT_NS)
        command = probe_command(record.config) or []
        execs = exec_mod.backend_for(self.containers)
        start = timefmt.now()
        exec_id = await execs.create(record.id, {"Cmd": command, "AttachStdout": True, "AttachStderr": True})
        output = bytearray()
        truncated = False
        ex: exec_mod.ExecRecord | None = None
        try:
            ex, frames = await execs.start_attached(exec_id)

            async def collect() -> None:
                nonlocal truncated
                decoder = StdcopyDecoder()
                async for chunk in frames:
                    for _stream, payload in decoder.feed(chunk):
                        keep = max(0, min(MAX_OUTPUT_LEN - len(output), len(payload)))
                        output.extend(payload[:keep])
                        truncated = truncated or keep < len(payload)

            try:
                await asyncio.wait_for(collect(), timeout_ns / 1e9)
            except TimeoutError:
                self._kill(ex)
                return {"Start": start, "End": timefmt.now(), "ExitCode": -1,
                        "Output": f"Health check exceeded timeout ({go_duration(timeout_ns)})"}
            finally:
                with contextlib.suppress(Exception):
                    await frames.aclose()  # type: ignore[attr-defined]
            text = output.decode(errors="replace") + ("..." if truncated else "")
            if ex.pid == 0:  # the runtime could not start it: dockerd's error result
                return {"Start": start, "End": timefmt.now(), "ExitCode": -1, "Output": text.strip()}
            return {"Start": start, "End": timefmt.now(), "ExitCode": int(ex.exit_code or 0), "Output": text}
        finally:
            self._forget_exec(execs, exec_id, ex)

    @staticmethod
    def _kill(ex: exec_mod.ExecRecord) -> None:
        """End a probe that outlived its timeout (its reaper still collects it): nothing is left running."""
        if ex.running and ex.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(ex.pid, signal.SIGKILL)

    def _forget_exec(self, execs: Any, exec_id: str, ex: exec_mod.ExecRecord | None) -> None:
        """A probe's exec record goes once its process is reaped (probes must not pile up records)."""
        if ex is None or ex.done.is_set():
            execs.execs.pop(exec_id, None)
            return

        async def later() -> None:
            await ex.done.wait()
            execs.execs.pop(exec_id, None)

        task = asyncio.ensure_future(later())
        self.containers._background.add(task)
        task.add_done_callback(self.containers._background.discard)

    def _record(self, record: Any, result: dict[str, Any]) -> None:
        """dockerd's handleProbeResult."""
        health = self._get(record.id)
        if health is None or not record.state.running:
            return
        hc = record.config.get("Healthcheck") or {}
        retries = int(hc.get("Retries") or 0)
        if retries <= 0:
            retries = DEFAULT_RETRIES
        old = health.status
        health.log = [*health.log, result][-MAX_LOG_ENTRIES:]
        if result["ExitCode"] == 0:
            health.failing_streak = 0
            health.status = HEALTHY
        else:
            counts = True
            if health.status == STARTING:
                start_period = _ns(hc, "StartPeriod", DEFAULT_START_PERIOD_NS)
                since_start = timefmt.parse_ns(result["Start"]) - timefmt.parse_ns(record.state.started_at)
                counts = since_start >= start_period
            if counts:
                health.failing_streak += 1
                if health.failing_streak >= retries:
                    health.status = UNHEALTHY
        self._save(record.id)
        if health.status != old:
            self.containers._publish(record, f"health_status: {health.status}")


_MONITORS: dict[int, HealthMonitor] = {}


def monitor_for(containers: Any) -> HealthMonitor:
    """One monitor per containers backend (kept beside it, without touching ``Services``)."""
    mon = _MONITORS.get(id(containers))
    if mon is None or mon.containers is not containers:
        mon = _MONITORS[id(containers)] = HealthMonitor(containers)
    return mon
