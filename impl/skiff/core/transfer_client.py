"""TransferClient: skiffd's typed client of the Transfer service (pull, push, export, login).

Shares CoreClient's channel when given one (``TransferClient.of(core)``); errors come back as
``skiff.errdefs`` exceptions like every CoreClient call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from grpc import aio

from skiff.core.api import distribution_pb2 as tpb
from skiff.core.api import distribution_pb2_grpc as _tpb_grpc
from skiff.core.client import CHANNEL_OPTIONS, _call, _stream, unix_target

tpb_grpc: Any = _tpb_grpc


@dataclass(frozen=True)
class Auth:
    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def pb(self) -> tpb.RegistryAuth:
        return tpb.RegistryAuth(username=self.username, password=self.password,
                                identity_token=self.identity_token, registry_token=self.registry_token)


class TransferClient:
    def __init__(self, channel: Any) -> None:
        self._stub = tpb_grpc.TransferStub(channel)

    @classmethod
    def of(cls, core: Any) -> TransferClient:
        """Over a CoreClient's channel (or a new one to ``core.address`` if it has none)."""
        channel = getattr(core, "_channel", None)
        if channel is None:
            channel = aio.insecure_channel(unix_target(core.address), options=CHANNEL_OPTIONS)
        return cls(channel)

    async def pull(self, ref: str, auth: Auth | None = None, insecure: bool = False,
                   platform: str = "") -> AsyncIterator[tpb.Progress]:
        req = tpb.PullRequest(ref=ref, auth=(auth or Auth()).pb(), insecure=insecure, platform=platform)
        async for p in _stream(self._stub.Pull(req)):
            yield p

    async def push(self, ref: str, auth: Auth | None = None, insecure: bool = False
                   ) -> AsyncIterator[tpb.Progress]:
        req = tpb.PushRequest(ref=ref, auth=(auth or Auth()).pb(), insecure=insecure)
        async for p in _stream(self._stub.Push(req)):
            yield p

    async def export(self, refs: list[str]) -> AsyncIterator[bytes]:
        """A docker-save tarball of ``refs`` (names or IDs), in chunks."""
        async for chunk in _stream(self._stub.Export(tpb.ExportRequest(refs=refs))):
            yield bytes(chunk.data)

    async def login(self, domain: str, auth: Auth, insecure: bool = False) -> tuple[str, str]:
        """(status, identity token): the token is the refresh token a token server gave, or ""."""
        req = tpb.PingRequest(domain=domain, auth=auth.pb(), insecure=insecure)
        resp = await _call(lambda: self._stub.Login(req))
        return str(resp.status), str(resp.identity_token)
