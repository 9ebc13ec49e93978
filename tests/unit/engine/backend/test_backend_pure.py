"""Pure parts of the engine backend: names, times, status strings, filters, changes, references, signals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.core.images import references
from skiff.engine.backend import changes, filters, names, signals, timefmt
from skiff.engine.backend.record import State

pytestmark = pytest.mark.unit
S = 1_000_000_000


# ---------- names ----------
def test_generated_names_are_adjective_surname() -> None:
    name = names.generate(lambda _n: False)
    adjective, surname = name.split("_")
    assert adjective in names.ADJECTIVES and surname in names.SURNAMES
    assert len(names.ADJECTIVES) >= 50 and len(names.SURNAMES) >= 50
    assert len(set(names.ADJECTIVES)) == len(names.ADJECTIVES) and len(set(names.SURNAMES)) == len(
        names.SURNAMES
    )


def test_generated_names_avoid_taken_ones_and_add_a_digit_after_collisions() -> None:
    taken = {f"{a}_{s}" for a in names.ADJECTIVES for s in names.SURNAMES}
    name = names.generate(lambda n: n in taken)
    assert re.fullmatch(r"[a-z]+_[a-z]+\d", name)


def test_name_validation() -> None:
    assert names.normalize("web") == "/web" and names.normalize("/web.1_a-b") == "/web.1_a-b"
    for bad in ("a", "a/b", "-x", "", "x y"):
        with pytest.raises(errdefs.InvalidArgument, match=r"only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed"):
            names.normalize(bad)


# ---------- times ----------
def test_rfc3339nano_like_go() -> None:
    assert timefmt.format_ns(0) == "1970-01-01T00:00:00Z"
    assert timefmt.format_ns(1795784487 * S + 67186936) == "2026-11-27T13:01:27.067186936Z"
    assert timefmt.format_ns(1795784487 * S + 230000000) == "2026-11-27T13:01:27.23Z"
    assert timefmt.parse_ns("2026-11-27T13:01:27.23Z") == 1795784487 * S + 230000000
    assert timefmt.parse_ns("2026-11-27T14:01:27+01:00") == 1795784487 * S
    assert timefmt.parse_ns(timefmt.ZERO_TIME) == 0 and timefmt.is_zero("0001-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (14 * 86400, "2 weeks"),
        (60 * 86400, "2 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert timefmt.human_duration(seconds) == text


def test_since_until_values() -> None:
    now = 2000 * S
    assert timefmt.parse_timestamp("1795784520") == 1795784520 * S
    assert timefmt.parse_timestamp("1795784520.58") == 1795784520 * S + 580000000
    assert timefmt.parse_timestamp("2026-11-27T13:01:27.5Z") == 1795784487 * S + 500000000
    assert timefmt.parse_timestamp("2026-11-27") == 1795737600 * S
    assert timefmt.parse_timestamp("10m", now_value_ns=now) == now - 600 * S
    assert timefmt.parse_timestamp("1h30m", now_value_ns=now) == now - 5400 * S
    with pytest.raises(ValueError):
        timefmt.parse_timestamp("yesterday")


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        ("1767225600.000000000", 1767225600 * S),
        ("1767225600", 1767225600 * S),
        ("1.5", S + 500_000_000),
        ("1.1234567891", S + 123_456_789),  # a 10th digit is scaled away through a float64, as in Go
        ("+5", 5 * S),
        ("-5", -5 * S),
        ("1.-5", S - 50_000_000),
    ],
)
def test_unix_timestamps_as_dockerd_parses_them(value: str, ns: int) -> None:
    assert timefmt.parse_unix_timestamp(value) == ns


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("2020-01-01T00:00:00Z", 'strconv.ParseInt: parsing "2020-01-01T00:00:00Z": invalid syntax'),
        ("1.", 'strconv.ParseInt: parsing "": invalid syntax'),
        (".5", 'strconv.ParseInt: parsing "": invalid syntax'),
        (" 5", 'strconv.ParseInt: parsing " 5": invalid syntax'),
        ("1e3", 'strconv.ParseInt: parsing "1e3": invalid syntax'),
        ("9223372036854775808", 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
    ],
)
def test_unix_timestamp_errors_are_go_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        timefmt.parse_unix_timestamp(value)
    assert str(exc.value) == message


def test_log_bounds_as_dockerd() -> None:
    from skiff.engine.backend.container_files import log_bounds

    assert log_bounds(None, None) == (0, 0) and log_bounds("", "") == (0, 0)
    assert log_bounds("0", "0") == (0, 0)  # until "0" is unset; since 0 keeps every line
    assert log_bounds("-5", None) == (0, 0)
    assert log_bounds(None, "0.0") == (0, -1)  # the epoch itself: no line is that old
    assert log_bounds(None, "-5") == (0, -5 * S)
    assert log_bounds("1767225600.25", "1767225601") == (1767225600 * S + 250_000_000, 1767225601 * S)
    with pytest.raises(errdefs.Unknown, match=r'^strconv.ParseInt: parsing "10m": invalid syntax$'):
        log_bounds("10m", None)


# ---------- state strings ----------
def test_status_strings() -> None:
    now = 1795784487 * S
    created = State()
    assert created.human(now) == "Created" and created.state_string() == "created"
    up = State(status="running", running=True, started_at=timefmt.format_ns(now - 2 * S))
    assert up.human(now) == "Up 2 seconds" and up.state_string() == "running"
    paused = State(running=True, paused=True, started_at=timefmt.format_ns(now - 3600 * S))
    assert paused.human(now) == "Up About an hour (Paused)" and paused.state_string() == "paused"
    exited = State(
        exit_code=3, started_at=timefmt.format_ns(now - 10 * S), finished_at=timefmt.format_ns(now - 3 * S)
    )
    assert exited.human(now) == "Exited (3) 3 seconds ago" and exited.state_string() == "exited"
    failed = State(exit_code=127, error="boom")
    assert failed.human(now) == "Created" and failed.state_string() == "created"
    assert State(dead=True, started_at="2026-01-01T00:00:00Z").human(now) == "Dead"
    assert State(removing=True).human(now) == "Removal In Progress"
    assert State(removing=True).state_string() == "removing"


# ---------- filters ----------
def test_filter_parsing_both_forms() -> None:
    assert filters.parse('{"name":["a","b"]}') == {"name": ["a", "b"]}
    assert filters.parse('{"name":{"a":true,"b":false}}') == {"name": ["a"]}
    assert filters.parse("") == {} and filters.parse(None) == {}
    with pytest.raises(errdefs.Unknown):
        filters.parse("notjson")
    with pytest.raises(errdefs.InvalidArgument, match=r"^Invalid filter 'x'$"):
        filters.validate({"x": []}, ("name",))


def test_filter_matchers() -> None:
    assert filters.match_regex(["^/we"], "/web") and not filters.match_regex(["^we"], "/web")
    assert filters.match_regex([], "/anything")
    assert filters.match_regex(["[unclosed"], "a[unclosed")
    labels = {"tier": "web", "env": "prod"}
    assert filters.match_labels(["tier"], labels) and filters.match_labels(["tier=web", "env=prod"], labels)
    assert not filters.match_labels(["tier=db"], labels) and not filters.match_labels(["x"], None)
    assert filters.match_not_labels(["tier=db"], labels) and not filters.match_not_labels(["tier"], labels)


# ---------- import changes ----------
def test_changes_like_docker_import() -> None:
    config = changes.apply(
        {},
        [
            'CMD ["sh"]',
            "ENV A=1 B=2",
            "EXPOSE 80 53/udp",
            "LABEL a=b",
            "WORKDIR /tmp",
            "USER nobody",
            "VOLUME /data",
            "ENTRYPOINT echo x",
            "env LEGACY some value",
        ],
    )
    assert config == {
        "Cmd": ["sh"],
        "Env": ["A=1", "B=2", "LEGACY=some value"],
        "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
        "Labels": {"a": "b"},
        "WorkingDir": "/tmp",
        "User": "nobody",
        "Volumes": {"/data": {}},
        "Entrypoint": ["/bin/sh", "-c", "echo x"],
    }
    assert changes.apply({"Env": ["A=0"]}, ["ENV A=1"]) == {"Env": ["A=1"]}
    assert changes.apply({}, ['LABEL "x y"="1 2"']) == {"Labels": {"x y": "1 2"}}
    assert changes.apply({}, ['VOLUME ["/a", "/b"]']) == {"Volumes": {"/a": {}, "/b": {}}}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("BOGUS x", "bogus is not a valid change command"),
        ("RUN x", "run is not a valid change command"),
        ("FROM busybox", "from is not a valid change command"),
    ],
)
def test_invalid_changes(line: str, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=f"^{message}$"):
        changes.apply({}, [line])


# ---------- references ----------
def test_reference_normalisation() -> None:
    assert references.normalised_name("busybox") == "docker.io/library/busybox:latest"
    assert references.normalised_name("user/app:1") == "docker.io/user/app:1"
    assert references.normalised_name("localhost:5000/app") == "localhost:5000/app:latest"
    assert references.normalised_name("index.docker.io/library/busybox:1") == "docker.io/library/busybox:1"
    assert references.familiar("docker.io/library/busybox:latest") == "busybox:latest"
    assert references.familiar("quay.io/a/b:c") == "quay.io/a/b:c"
    assert references.familiar_tagged("busybox") == "busybox:latest"
    assert references.familiar_tagged("busybox:nope") == "busybox:nope"
    with pytest.raises(errdefs.InvalidArgument, match=r"repository name must be lowercase"):
        references.parse("Bad:tag")
    with pytest.raises(errdefs.InvalidArgument, match=r"cannot specify 64-byte hexadecimal strings"):
        references.parse("a" * 64)
    with pytest.raises(errdefs.InvalidArgument, match=r"^invalid reference format$"):
        references.parse("a::b")
    assert references.looks_like_id("45c11eb7") and references.looks_like_id("sha256:45c1")
    assert not references.looks_like_id("busybox")


# ---------- signals ----------
def test_signal_names_and_numbers() -> None:
    assert signals.parse("KILL") == 9 and signals.parse("sigterm") == 15 and signals.parse("10") == 10
    assert signals.parse(None) == 9 and signals.parse("") == 9 and signals.parse("HUP") == 1
    for bad in ("FOO", "0", "65", "SIGFOO"):
        with pytest.raises(errdefs.InvalidArgument, match=f"^Invalid signal: {bad}$"):
            signals.parse(bad)


# ---------- top ----------
def test_parse_ps_like_dockerd() -> None:
    from skiff.engine.backend import top

    output = (
        "UID          PID    PPID  C STIME TTY          TIME CMD\n"
        "root           1       0  0 12:00 ?        00:00:01 /sbin/init splash\n"
        "root        9660    9640  2 13:32 ?        00:00:00 sleep 31\n"
        "root        9690    9660  0 13:32 ?        00:00:00 sh -c sleep 30 && echo x\n"
    )
    assert top.parse_ps(output, [9660, 9690]) == {
        "Processes": [
            ["root", "9660", "9640", "2", "13:32", "?", "00:00:00", "sleep 31"],
            ["root", "9690", "9660", "0", "13:32", "?", "00:00:00", "sh -c sleep 30 && echo x"],
        ],
        "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
    }
    with pytest.raises(errdefs.Unknown, match="Couldn't find PID field in ps output"):
        top.parse_ps("USER COMMAND\n", [])


def test_cgroup_pids(tmp_path: Path) -> None:
    from skiff.engine.backend import top

    procs = tmp_path / "memory" / "skiff" / "abc"
    procs.mkdir(parents=True)
    (procs / "cgroup.procs").write_text("12\n34\n")
    assert top.cgroup_pids("/skiff/abc", root=tmp_path) == [12, 34]
    assert top.cgroup_pids("/skiff/none", root=tmp_path) == []
