"""dockerd-style logfmt logging: ``time="<RFC3339Nano>" level=info msg="..."`` on stderr."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
          "error": logging.ERROR, "fatal": logging.CRITICAL, "panic": logging.CRITICAL}
_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error",
          logging.CRITICAL: "fatal"}


def quote(value: str) -> str:
    """logfmt quoting as logrus does it: quote when needed, escape quotes, backslashes and newlines."""
    if value and all(c.isalnum() or c in "-._/@^+:" for c in value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"
        level = _NAMES.get(record.levelno, record.levelname.lower())
        parts = [f'time="{stamp}"', f"level={level}", f"msg={quote(record.getMessage())}"]
        if record.name and not record.name.startswith("skiff."):
            parts.append(f"module={quote(record.name)}")
        if record.exc_info:
            parts.append(f"error={quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def setup(level: str = "info", debug: bool = False) -> None:
    """Root logging for skiffd; ``--debug`` wins over ``--log-level``."""
    if level not in LEVELS:
        raise ValueError(f'unable to parse logging level: {level}')
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else LEVELS[level])
    # third-party chatter only when debugging
    for name in ("uvicorn", "uvicorn.error", "connexion", "skiff.engine.spec"):
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.DEBUG if debug else logging.WARNING)
