"""Test certificates made with the openssl CLI: a CA, server certificates it signs, and a signing key.

The tests' TLS registry and token server need a CA of their own (no package dependency: the openssl
binary is on every machine that runs the tests). Keys are RSA 2048, valid for a day.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


def make_ca(directory: Path, name: str = "skiff-test-ca") -> KeyPair:
    """A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = KeyPair(directory / f"{name}.crt", directory / f"{name}.key")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "1",
             "-subj", f"/CN={name}", "-keyout", str(ca.key), "-out", str(ca.cert),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
    return ca


def make_cert(directory: Path, ca: KeyPair, name: str, hosts: list[str],
              usage: str = "serverAuth") -> KeyPair:
    """A certificate for ``hosts`` (IP addresses or DNS names as subjectAltName) signed by ``ca``;
    ``usage`` is its extendedKeyUsage (``clientAuth`` for a client certificate)."""
    directory.mkdir(parents=True, exist_ok=True)
    pair = KeyPair(directory / f"{name}.crt", directory / f"{name}.key")
    csr = directory / f"{name}.csr"
    sans = ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in hosts)
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", f"/CN={hosts[0]}",
             "-keyout", str(pair.key), "-out", str(csr))
    ext = directory / f"{name}.ext"
    ext.write_text(f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\n"
                   f"keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
             "-CAcreateserial", "-days", "1", "-sha256", "-extfile", str(ext), "-out", str(pair.cert))
    return pair


def sign_rs256(key: Path, data: bytes) -> bytes:
    """An RSASSA-PKCS1-v1_5 SHA-256 signature (JWS ``RS256``)."""
    return _openssl("dgst", "-sha256", "-sign", str(key), stdin=data)


def der_of(cert: Path) -> bytes:
    return _openssl("x509", "-in", str(cert), "-outform", "DER")


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
