"""A tiny token server for the tests: the Distribution "token authentication" flow, signed JWTs.

``GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]`` with optional basic credentials.
Known users get every action they ask for; anonymous requests get a token with no access (so the
registry answers ``insufficient_scope``); a wrong password is a 401. Tokens are RS256 JWTs with the
signing certificate in ``x5c``; the registry trusts that certificate through ``rootcertbundle``.

``TokenServer`` runs ``python -m vm.token_server CONFIG`` as its own process on 127.0.0.1 and ends it by
PID; the process prints its address on stdout once it listens.
"""

from __future__ import annotations

import base64
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vm.pki import KeyPair, der_of, make_ca, sign_rs256
from vm.proc import terminate

SERVICE = "skiff-test-registry"
ISSUER = "skiff-test-token-issuer"
LIFETIME_S = 300
START_DEADLINE_S = 20.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(key: KeyPair, subject: str, service: str, access: list[dict[str, Any]]) -> str:
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der_of(key.cert)).decode()]}
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": service, "exp": now + LIFETIME_S, "nbf": now - 10,
              "iat": now, "jti": secrets.token_hex(16), "access": access}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign_rs256(key.key, signing_input.encode()))}"


def parse_scopes(values: list[str]) -> list[dict[str, Any]]:
    """``repository:a/b:pull,push`` (several per parameter, space separated) -> the claim's access list."""
    out = []
    for value in values:
        for scope in value.split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name:
                out.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
    return out


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.append(f"{self.command} {self.path}")

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/token":
            self._answer(404, {"details": "not found"})
            return
        query = parse_qs(url.query)
        user = self._user()
        if user is None:
            self._answer(401, {"details": "incorrect username or password"})
            return
        body = self._token(user, query.get("service", [SERVICE])[0], query.get("scope", []))
        if user and query.get("offline_token") == ["true"]:  # docker login asks for a refresh token
            body["refresh_token"] = self.server.refresh_token(user)
        self._answer(200, body)

    def do_POST(self) -> None:
        """The OAuth2 form (``grant_type=refresh_token`` or ``password``), as dockerd uses with an
        identity token."""
        if urlsplit(self.path).path != "/token":
            self._answer(404, {"details": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        grant = form.get("grant_type", [""])[0]
        user: str | None = None
        if grant == "refresh_token":
            user = self.server.refresh.get(form.get("refresh_token", [""])[0])
        elif grant == "password":
            name, password = form.get("username", [""])[0], form.get("password", [""])[0]
            user = name if password and self.server.users.get(name) == password else None
        if not user:
            self._answer(401, {"details": "invalid grant"})
            return
        self.server.log.append(f"oauth {grant} {user}")
        body = self._token(user, form.get("service", [SERVICE])[0], form.get("scope", []))
        if form.get("access_type") == ["offline"]:
            body["refresh_token"] = self.server.refresh_token(user)
        self._answer(200, body)

    def _token(self, user: str, service: str, scopes: list[str]) -> dict[str, Any]:
        token = make_jwt(self.server.key, user, service, parse_scopes(scopes) if user else [])
        return {"token": token, "access_token": token, "expires_in": LIFETIME_S,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def _user(self) -> str | None:
        """"" for anonymous, the name for good credentials, None for bad ones."""
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return ""
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user if self.server.users.get(user) == password and password else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, key: KeyPair, users: dict[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.key = key
        self.users = users
        self.log: list[str] = []
        self.refresh: dict[str, str] = {}  # refresh token -> user

    def refresh_token(self, user: str) -> str:
        token = f"refresh-{secrets.token_hex(16)}"
        self.refresh[token] = user
        return token


@dataclass
class TokenServer:
    """A token server process; ``cert`` is what the registry's ``rootcertbundle`` must hold."""

    users: dict[str, str] = field(default_factory=dict)
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    address: str = ""
    cert: Path | None = None

    @property
    def realm(self) -> str:
        return f"http://{self.address}/token"

    def start(self) -> TokenServer:
        self.root = Path(tempfile.mkdtemp(prefix="skiff-token-"))
        try:
            key = make_ca(self.root, "token-signer")
            self.cert = key.cert
            cfg = self.root / "config.json"
            cfg.write_text(json.dumps({"cert": str(key.cert), "key": str(key.key), "users": self.users}))
            with open(self.root / "log", "wb") as log:
                self.proc = subprocess.Popen([sys.executable, "-m", "vm.token_server", str(cfg)],
                                             cwd=Path(__file__).resolve().parent.parent,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                             start_new_session=True)
            self.address = self._read_address()
            return self
        except BaseException:
            self.stop()
            raise

    def _read_address(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()  # type: ignore[union-attr]
                                                             ), daemon=True)
        reader.start()
        reader.join(START_DEADLINE_S)
        if not line or not line[0].strip():
            raise RuntimeError("the token server did not start")
        return line[0].decode().strip()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        terminate(proc)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self.root is not None:
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    server = _Server(KeyPair(Path(cfg["cert"]), Path(cfg["key"])), dict(cfg.get("users") or {}))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
