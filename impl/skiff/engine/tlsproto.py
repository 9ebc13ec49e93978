"""TLS terminated inside the protocol (``ssl.SSLObject`` over memory BIOs) instead of asyncio's SSL transport.

Why: when ``docker --tlsverify attach``/``exec -i`` reaches the end of stdin, the Go client sends a TLS
close_notify and keeps reading. asyncio's SSL transport treats close_notify as the end of the connection
and output written afterwards is lost (engine-api-notes, "Hijack", TLS caveat). OpenSSL itself allows
writing after receiving close_notify, so here close_notify becomes a half-close (``eof_received``) of the
wrapped HTTP protocol, exactly like a TCP FIN on a plain connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from typing import Any

log = logging.getLogger("skiff.engine.tls")

READ_SIZE = 256 * 1024


class TLSTerminator(asyncio.Protocol):
    """The raw socket's protocol: decrypts into ``inner`` and encrypts what ``inner`` writes."""

    def __init__(self, context: ssl.SSLContext, inner: asyncio.Protocol) -> None:
        self.context = context
        self.inner = inner
        self.raw: asyncio.Transport | None = None
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.sslobj = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.handshaken = False
        self.inner_connected = False
        self.eof_delivered = False
        self.transport = TLSTransport(self)

    # raw side ----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio subclasses

    def data_received(self, data: bytes) -> None:
        self.incoming.write(data)
        if not self.handshaken and not self._handshake():
            return
        plaintext: list[bytes] = []
        closed = False
        while True:
            try:
                chunk = self.sslobj.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                closed = True
                break
            except ssl.SSLError as exc:
                log.debug("TLS error from %s: %s", self._peer(), exc)
                self._abort()
                return
            if not chunk:  # SSLObject.read returns b"" for the peer's close_notify: a half-close
                closed = True
                break
            plaintext.append(chunk)
        self.flush()
        if plaintext:
            self.inner.data_received(b"".join(plaintext))
        if closed:
            self._deliver_eof()

    def eof_received(self) -> bool:
        if not self.handshaken:
            return False
        self._deliver_eof()
        return True  # the raw transport stays open while the inner protocol still writes

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner_connected:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner_connected:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner_connected:
            self.inner.resume_writing()

    # helpers -----------------------------------------------------------------------------------
    def _handshake(self) -> bool:
        try:
            self.sslobj.do_handshake()
        except ssl.SSLWantReadError:
            self.flush()
            return False
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", self._peer(), exc)
            self.flush()
            self._abort()
            return False
        self.handshaken = True
        self.flush()
        self.inner_connected = True
        self.inner.connection_made(self.transport)
        return True

    def _deliver_eof(self) -> None:
        if self.eof_delivered or not self.inner_connected:
            return
        self.eof_delivered = True
        keep_open = self.inner.eof_received()
        if not keep_open:
            self.transport.close()

    def flush(self) -> None:
        data = self.outgoing.read()
        if data and self.raw is not None and not self.raw.is_closing():
            self.raw.write(data)

    def _abort(self) -> None:
        if self.raw is not None:
            self.raw.close()

    def _peer(self) -> Any:
        return self.raw.get_extra_info("peername") if self.raw is not None else None


class TLSTransport(asyncio.Transport):
    """What the inner HTTP protocol sees: a transport whose writes are encrypted."""

    def __init__(self, terminator: TLSTerminator) -> None:
        super().__init__()
        self.t = terminator
        self.closed = False

    @property
    def raw(self) -> asyncio.Transport:
        assert self.t.raw is not None
        return self.t.raw

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed or not data:
            return
        try:
            self.t.sslobj.write(bytes(data))
        except ssl.SSLError as exc:
            log.debug("TLS write failed: %s", exc)
            self.raw.close()
            return
        self.t.flush()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ssl.SSLError, ValueError):
            self.t.sslobj.unwrap()  # queues our close_notify; the peer's may not have come yet
        self.t.flush()
        self.raw.close()

    def abort(self) -> None:
        self.closed = True
        self.raw.abort()

    def is_closing(self) -> bool:
        return self.closed or self.raw.is_closing()

    def can_write_eof(self) -> bool:
        return False

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()

    def is_reading(self) -> bool:
        return self.raw.is_reading()

    def get_write_buffer_size(self) -> int:
        return self.raw.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.raw.set_write_buffer_limits(high, low)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sslcontext":
            return self.t.context
        if name == "ssl_object":
            return self.t.sslobj
        if name == "peercert":
            return self.t.sslobj.getpeercert()
        if name == "cipher":
            return self.t.sslobj.cipher()
        return self.raw.get_extra_info(name, default)


def tls_protocol_factory(context: ssl.SSLContext, inner_class: Callable[..., asyncio.Protocol]
                         ) -> Callable[..., asyncio.Protocol]:
    """A ``uvicorn.Config(http=...)`` value: ``inner_class`` (the HTTP protocol) behind TLS done here."""

    def factory(**kwargs: Any) -> asyncio.Protocol:
        return TLSTerminator(context, inner_class(**kwargs))

    return factory
