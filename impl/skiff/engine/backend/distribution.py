"""Pull, push, save and login for skiffd: X-Registry-Auth, insecure registries, Docker's progress stream.

The core's Transfer service does the moving; this module turns its progress into the JSON messages
dockerd writes (``status``/``progressDetail``/``progress``/``id``) so the docker CLI draws its bars, and
decides, as dockerd does, which registries are insecure (loopback and ``insecure-registries``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any

from skiff import errdefs
from skiff.core.images import references
from skiff.core.transfer_client import Auth, TransferClient

DEFAULT_INSECURE = ("127.0.0.0/8",)


def stream_line(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\r\n"


def human_size(n: float) -> str:
    """go-units HumanSize: decimal units, 3 significant digits (``1.05MB``)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.4g}{units[i]}"


def progress_bar(current: int, total: int) -> str:
    """The ``progress`` text of a JSONProgress (the bar dockerd renders for clients without a TTY)."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    pct = min(50, int(current / total * 100) // 2)
    bar = "[" + "=" * pct + (">" if pct < 50 else "") + " " * (49 - pct if pct < 50 else 0) + "] "
    return f"{bar}{human_size(current):>8}/{human_size(total)}"


def decode_auth(header: str | None) -> Auth:
    """X-Registry-Auth: base64url JSON of AuthConfig; an empty or unparsable one is anonymous."""
    if not header:
        return Auth()
    raw = header.strip()
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        return Auth()
    if not isinstance(data, dict):
        return Auth()
    return Auth(str(data.get("username") or ""), str(data.get("password") or ""),
                str(data.get("identitytoken") or ""), str(data.get("registrytoken") or ""))


class Registries:
    """Which registries are insecure: dockerd's rules (CIDRs match the host's addresses, names match)."""

    def __init__(self, insecure: Iterable[str] = ()) -> None:
        self.names: set[str] = set()
        self.nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in (*DEFAULT_INSECURE, *insecure):
            entry = entry.removeprefix("http://").removeprefix("https://").rstrip("/")
            try:
                self.nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry)

    def insecure(self, domain: str) -> bool:
        if domain in self.names:
            return True
        host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
        host = host.strip("[]")
        if host in self.names or host == "localhost":
            return True
        try:
            addrs = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addrs = [ipaddress.ip_address(str(i[4][0])) for i in socket.getaddrinfo(host, None)]
            except (OSError, UnicodeError):  # idna refuses the name: no DNS could resolve it (fuzz)
                return False
        return any(a in net for a in addrs for net in self.nets)


def layer_message(p: Any) -> dict[str, Any]:
    """One Transfer progress message as dockerd's JSONMessage."""
    msg: dict[str, Any] = {"status": p.status}
    if p.id:
        per_layer = p.status not in ("Digest: " + p.digest,) and not p.status.startswith("Pulling from")
        if per_layer:
            msg["progressDetail"] = {"current": p.current, "total": p.total} if p.current or p.total else {}
            bar = progress_bar(p.current, p.total)
            if bar:
                msg["progress"] = bar
        msg["id"] = p.id
    return msg


class Distribution:
    def __init__(self, core: Any, insecure_registries: Iterable[str] = ()) -> None:
        self.transfer = TransferClient.of(core)
        self.registries = Registries(insecure_registries)

    async def pull(self, ref: str, auth_header: str | None, platform: str = "") -> AsyncIterator[bytes]:
        """The progress stream; an error before the first message is raised (an HTTP error, as dockerd)."""
        parsed = references.parse(ref)
        name = str(parsed)
        stream = self.transfer.pull(name, decode_auth(auth_header), self.registries.insecure(parsed.domain),
                                    platform)
        try:
            first = await anext(stream)
        except StopAsyncIteration:
            return self._chunks(b"", _nothing())
        return self._pull_lines(first, stream, parsed)

    async def _pull_lines(self, first: Any, stream: AsyncIterator[Any], parsed: Any) -> AsyncIterator[bytes]:
        yield stream_line(layer_message(first))
        try:
            async for p in stream:
                yield stream_line(layer_message(p))
                if p.digest:
                    shown = parsed.familiar()
                    status = (f"Status: Downloaded newer image for {shown}" if p.updated
                              else f"Status: Image is up to date for {shown}")
                    yield stream_line({"status": status})
        except errdefs.SkiffError as err:
            yield stream_line({"errorDetail": {"message": str(err)}, "error": str(err)})

    async def push(self, name: str, auth_header: str | None) -> AsyncIterator[bytes]:
        parsed = references.parse(name)
        yield stream_line({"status": f"The push refers to repository [{parsed.name}]"})
        try:
            async for p in self.transfer.push(str(parsed), decode_auth(auth_header),
                                              self.registries.insecure(parsed.domain)):
                yield stream_line(layer_message(p))
                if p.digest:
                    tag = p.status.split(":", 1)[0]
                    yield stream_line({"progressDetail": {},
                                       "aux": {"Tag": tag, "Digest": p.digest, "Size": p.size}})
        except errdefs.SkiffError as err:
            yield stream_line({"errorDetail": {"message": str(err)}, "error": str(err)})

    async def save(self, refs: list[str]) -> AsyncIterator[bytes]:
        """The archive; a missing image fails before the first byte (an HTTP error)."""
        for ref in refs:  # dockerd parses every name first: a bad one is 500 with the parser's message
            if not references.looks_like_id(ref):
                try:
                    references.parse(ref)
                except errdefs.InvalidArgument as exc:
                    raise errdefs.Unknown(str(exc)) from exc
        stream = self.transfer.export(refs)
        try:
            first = await anext(stream)
        except StopAsyncIteration:
            first = b""
        except errdefs.NotFound:
            raise errdefs.NotFound("reference does not exist") from None
        return self._chunks(first, stream)

    @staticmethod
    async def _chunks(first: bytes, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in stream:
            yield chunk

    async def login(self, server: str, auth: Auth) -> tuple[str, str]:
        """(status, identity token)."""
        domain = server.removeprefix("https://").removeprefix("http://").split("/")[0]
        if not domain or domain in ("index.docker.io", "registry-1.docker.io"):
            domain = references.DEFAULT_DOMAIN
        return await self.transfer.login(domain, auth, self.registries.insecure(domain))


async def _nothing() -> AsyncIterator[bytes]:
    empty: tuple[bytes, ...] = ()
    for item in empty:
        yield item


async def search_v1(domain: str, term: str, https: bool) -> list[dict[str, Any]]:
    """dockerd's search of a registry that is not Docker Hub: ``GET /v1/search`` (a v2-only registry
    answers 404, which dockerd reports as "Unexpected status code 404")."""
    import httpx

    scheme = "https" if https else "http"
    async with httpx.AsyncClient(verify=False, timeout=15, trust_env=False) as client:
        try:
            resp = await client.get(f"{scheme}://{domain}/v1/search", params={"q": term, "n": "25"})
        except httpx.HTTPError as err:
            if not https:
                raise errdefs.Unknown(str(err)) from None
            resp = await client.get(f"http://{domain}/v1/search", params={"q": term, "n": "25"})
    if resp.status_code != 200:
        raise errdefs.Unknown(f"Unexpected status code {resp.status_code}")
    results = resp.json().get("results") or []
    return [{"star_count": int(r.get("star_count", 0)), "is_official": bool(r.get("is_official")),
             "name": str(r.get("name", "")), "is_automated": bool(r.get("is_automated")),
             "description": str(r.get("description", ""))} for r in results]
