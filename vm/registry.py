"""A real registry for the tests: Debian's ``docker-registry`` (Distribution v2) on 127.0.0.1:<free port>.

Plain HTTP (loopback registries are insecure by default for dockerd and skiffd alike), its data in a
temporary directory, optionally htpasswd basic auth, bearer-token auth (``TokenAuth``, see
vm/token_server.py), schema1 manifests, or TLS with a CA made for it (vm/pki.py; on a non-loopback
address of this host when the CA's trust matters, since dockerd does not verify loopback registries).
``stop()`` ends it by PID and removes the directory.
``python -m vm.registry [--tls]`` starts one in the foreground (for manual checks and the benchmark);
with ``--tls`` it also prints the CA certificate's path.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from vm.pki import KeyPair, make_ca, make_cert
from vm.proc import terminate

BINARY = "/usr/bin/docker-registry"
START_DEADLINE_S = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _config(root: Path, host: str, port: int, htpasswd: Path | None, tls: KeyPair | None = None,
            token: TokenAuth | None = None, schema1: bool = False, client_ca: Path | None = None) -> str:
    auth = (f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {htpasswd}\n" if htpasswd else "")
    if token is not None:
        auth = (f"auth:\n  token:\n    realm: {token.realm}\n    service: {token.service}\n"
                f"    issuer: {token.issuer}\n    rootcertbundle: {token.rootcertbundle}\n")
    tls_cfg = f"  tls:\n    certificate: {tls.cert}\n    key: {tls.key}\n" if tls is not None else ""
    if tls is not None and client_ca is not None:
        tls_cfg += f"    clientcas:\n      - {client_ca}\n"
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {host}:{port}\n  secret: skiff-tests\n"
        + tls_cfg
        + auth
        + ("compatibility:\n  schema1:\n    enabled: true\n" if schema1 else "")
    )


@dataclass(frozen=True)
class TokenAuth:
    """The registry side of bearer-token auth: where clients get tokens and whose signatures it trusts."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


def local_address() -> str:
    """A non-loopback IPv4 address of this host (the default route's source, else the first global one).

    dockerd treats every 127.0.0.0/8 registry as insecure and then skips TLS verification, so a registry
    whose CA trust a test checks must listen on another local address (traffic still stays on the host).
    """
    out = subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True, text=True,
                         check=False).stdout
    devs = [str(r.get("dev")) for r in json.loads(out or "[]") if r.get("dev")]
    out = subprocess.run(["ip", "-j", "-4", "addr", "show", "scope", "global"], capture_output=True,
                         text=True, check=False).stdout
    addrs = [(str(link.get("ifname")), str(a["local"])) for link in json.loads(out or "[]")
             for a in link.get("addr_info") or [] if a.get("local")]
    for dev, addr in addrs:
        if dev in devs:
            return addr
    if not addrs:
        raise RuntimeError("no non-loopback IPv4 address on this host")
    return addrs[0][1]


def htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd line (the registry accepts only bcrypt; libxcrypt's crypt(3) makes it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))
    return f"{user}:{hashed}\n"


@dataclass
class Registry:
    """``tls``: serve HTTPS with a certificate from a CA made for it (``ca`` is that CA's certificate).
    ``host``: the address to listen on (127.0.0.1 unless a test needs a registry dockerd does not treat as
    insecure). ``token``: bearer-token auth instead of htpasswd."""

    users: dict[str, str] = field(default_factory=dict)
    tls: bool = False
    host: str = "127.0.0.1"
    token: TokenAuth | None = None
    schema1: bool = False  # accept signed schema1 manifests (compatibility: schema1: enabled)
    client_certs: bool = False  # with tls: demand a client certificate signed by the same CA
    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    ca: Path | None = None
    client: KeyPair | None = None  # a client certificate the registry accepts (client_certs)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}"

    def start(self) -> Registry:
        self.root = Path(tempfile.mkdtemp(prefix="skiff-registry-"))
        try:
            return self._start(self.root)
        except BaseException:
            self.stop()
            raise

    def _start(self, root: Path) -> Registry:
        htpasswd = None
        if self.users and self.token is None:
            htpasswd = root / "htpasswd"
            htpasswd.write_text("".join(htpasswd_line(u, p) for u, p in self.users.items()))
        pair = None
        if self.tls:
            ca = make_ca(root / "pki")
            self.ca = ca.cert
            pair = make_cert(root / "pki", ca, "registry", [self.host, "localhost"])
            if self.client_certs:
                self.client = make_cert(root / "pki", ca, "client", ["skiff-test-client"], "clientAuth")
        for _ in range(5):
            self.port = free_port(self.host)
            cfg = root / "config.yml"
            cfg.write_text(_config(root, self.host, self.port, htpasswd, pair, self.token, self.schema1,
                                   self.ca if self.client_certs else None))
            with open(root / "registry.log", "ab") as log:
                self.proc = subprocess.Popen([BINARY, "serve", str(cfg)], stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log, start_new_session=True)
            if self._wait():
                return self
            self._end_process()
        raise RuntimeError("docker-registry did not start")

    def _wait(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca)) if self.ca is not None else None
        if context is not None and self.client is not None:
            context.load_cert_chain(str(self.client.cert), str(self.client.key))
        end = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < end:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1, context=context).close()
                return True
            except urllib.error.HTTPError:
                return True  # 401 with auth: it answers
            except OSError:
                time.sleep(0.05)
        return False

    def _end_process(self) -> None:
        proc, self.proc = self.proc, None
        terminate(proc)

    def stop(self) -> None:
        self._end_process()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # sigwait needs them blocked, or they kill us first
    tls = "--tls" in sys.argv[1:]
    reg = Registry(tls=tls, host=local_address() if tls else "127.0.0.1").start()
    print(reg.address, *([str(reg.ca)] if tls else []), flush=True)
    try:
        signal.sigwait(signals)
    finally:
        reg.stop()


if __name__ == "__main__":
    main()
