"""Steps that drive the docker CLI as a person would: piped stdin, and a real terminal (tmux send-keys and
capture-pane) for ``-it``. Each scenario gets a tmux server of its own (``-L``), killed at its end."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from typing import Any

from behave import given, then, when

from conformance.harness import cli
from conformance.harness.world import poll

_KEYS = {"ctrl-p": "C-p", "ctrl-q": "C-q", "ctrl-c": "C-c", "ctrl-d": "C-d", "enter": "Enter",
         "ctrl-a": "C-a", "x": "x"}


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape")


@when('I pipe "{text}" into "{cmdline}"')
def step_run_stdin(context: Any, text: str, cmdline: str) -> None:
    world = context.world
    env, args = cli.split(world.expand(cmdline))
    args = cli.with_label(args, world.label)
    world.last_cli = cli.run(world.target.host, args, env, stdin=_unescape(text).encode())


@given('I remembered the current time as "{key}"')
def step_remember_time(context: Any, key: str) -> None:
    """Unix seconds, one second back: ``--since`` takes whole seconds from the CLI."""
    context.world.values[key] = str(int(time.time()) - 1)


@given('I remembered the time {seconds:d} seconds from now as "{key}"')
def step_remember_later(context: Any, seconds: int, key: str) -> None:
    """An ``--until`` a little ahead: the clocks of daemon and client need not agree to the millisecond."""
    context.world.values[key] = str(int(time.time()) + seconds)


class Terminal:
    """One tmux window running one command line; the shell prints ``EXIT=<status>`` when it ends."""

    def __init__(self, name: str) -> None:
        self.socket = f"skiff-{name}"[:60]

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, timeout=20,
                              check=False)
        if proc.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode(errors="replace")

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = f"{exports} {shlex.join(argv)}; echo EXIT=$?"
        self.tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "/bin/sh", "-c",
                  f"{line}; sleep 600")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t", "-S", "-200")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20,
                       check=False)


def _terminal(context: Any) -> Terminal:
    term: Terminal | None = getattr(context, "terminal", None)
    assert term is not None, "no command runs in a terminal"
    return term


@when('I open a terminal running "{cmdline}"')
def step_terminal(context: Any, cmdline: str) -> None:
    world = context.world
    env, args = cli.split(world.expand(cmdline))
    args = cli.with_label(args, world.label)
    term = Terminal(f"{world.prefix}-{os.getpid()}")
    context.add_cleanup(term.close)
    context.terminal = term
    term.start([cli.docker(), "-H", world.target.host, *args[1:]], env)


@when('I type "{text}"')
def step_type(context: Any, text: str) -> None:
    term = _terminal(context)
    term.tmux("send-keys", "-t", "t", "-l", context.world.expand(text))
    term.tmux("send-keys", "-t", "t", "Enter")


@when("I press {keys}")
def step_press(context: Any, keys: str) -> None:
    term = _terminal(context)
    term.tmux("send-keys", "-t", "t", *(_KEYS[k] for k in keys.split()))


@when("I resize the terminal to {width:d}x{height:d}")
def step_resize(context: Any, width: int, height: int) -> None:
    """The docker CLI sees SIGWINCH and resizes the container's (or exec's) pty."""
    term = _terminal(context)
    term.tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))


@then('the terminal shows "{text}"')
def step_shows(context: Any, text: str) -> None:
    term = _terminal(context)
    want = context.world.expand(text)
    try:
        poll(lambda: any(line.strip() == want for line in term.screen().splitlines()), deadline_s=15,
             what=f"{want!r} on screen")
    except AssertionError as err:
        raise AssertionError(f"{err}; the screen:\n{term.screen()}") from None


@then('typing "{command}" eventually shows "{text}"')
def step_type_until(context: Any, command: str, text: str) -> None:
    """Type the command again each second until its answer shows (a SIGWINCH may land a moment later)."""
    term = _terminal(context)
    want = context.world.expand(text)
    deadline = time.monotonic() + 15
    while True:
        term.tmux("send-keys", "-t", "t", "-l", command)
        term.tmux("send-keys", "-t", "t", "Enter")
        end = min(deadline, time.monotonic() + 1)
        while time.monotonic() < end:
            if any(line.strip() == want for line in term.screen().splitlines()):
                return
            time.sleep(0.05)
        if time.monotonic() >= deadline:
            raise AssertionError(f"{want!r} never showed; the screen:\n{term.screen()}")


@then('the terminal shows a line matching "{pattern}"')
def step_shows_match(context: Any, pattern: str) -> None:
    term = _terminal(context)
    rx = re.compile(context.world.expand(pattern))
    poll(lambda: any(rx.fullmatch(line.strip()) for line in term.screen().splitlines()),
         what=f"a line matching {pattern!r}")


@then("the terminal command exits with {code:d}")
def step_term_exit(context: Any, code: int) -> None:
    term = _terminal(context)
    # a detached `docker run -it` leaves the shell's prompt on the line: "/ # EXIT=0"
    line = poll(lambda: next((ln for ln in term.screen().splitlines() if re.search(r"EXIT=\d+\s*$", ln)),
                             None), what="the command's exit")
    got = line.strip().rsplit("EXIT=", 1)[1]
    assert got == str(code), f"{line!r} != EXIT={code}\n{term.screen()}"


@when('I remember the exec from the response as "{key}"')
@then('I remember the exec from the response as "{key}"')
def step_remember_exec(context: Any, key: str) -> None:
    context.world.values[key] = context.world.last_json["Id"]


@when('I start the exec "{key}" detached')
def step_start_exec(context: Any, key: str) -> None:
    context.execute_steps(f'''
        When I send POST /exec/{context.world.values[key]}/start with JSON:
          """
          {{"Detach": true}}
          """
    ''')
    assert context.world.last_response.status_code == 200, context.world.last_response.text


def _exec_json(context: Any, key: str) -> dict[str, Any]:
    context.execute_steps(f"When I send GET /exec/{context.world.values[key]}/json")
    resp = context.world.last_response
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


@then('the exec "{key}" ends with exit code {code:d}')
def step_exec_ends(context: Any, key: str, code: int) -> None:
    data = poll(lambda: (lambda d: d if not d["Running"] and d["ExitCode"] is not None else None)(
        _exec_json(context, key)), what="the exec's end")
    assert data["ExitCode"] == code, data


@then('the exec "{key}" has ProcessConfig {expected}')
def step_exec_process_config(context: Any, key: str, expected: str) -> None:
    import json

    data = _exec_json(context, key)
    assert data["ProcessConfig"] == json.loads(expected), data["ProcessConfig"]
