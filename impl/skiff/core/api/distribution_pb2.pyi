# ruff: noqa
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegistryAuth(_message.Message):
    __slots__ = ("username", "password", "identity_token", "registry_token")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    identity_token: str
    registry_token: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., identity_token: _Optional[str] = ..., registry_token: _Optional[str] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("ref", "auth", "insecure", "platform")
    REF_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    auth: RegistryAuth
    insecure: bool
    platform: str
    def __init__(self, ref: _Optional[str] = ..., auth: _Optional[_Union[RegistryAuth, _Mapping]] = ..., insecure: _Optional[bool] = ..., platform: _Optional[str] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("ref", "auth", "insecure")
    REF_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    ref: str
    auth: RegistryAuth
    insecure: bool
    def __init__(self, ref: _Optional[str] = ..., auth: _Optional[_Union[RegistryAuth, _Mapping]] = ..., insecure: _Optional[bool] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("id", "status", "current", "total", "digest", "size", "image_id", "updated")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    current: int
    total: int
    digest: str
    size: int
    image_id: str
    updated: bool
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., current: _Optional[int] = ..., total: _Optional[int] = ..., digest: _Optional[str] = ..., size: _Optional[int] = ..., image_id: _Optional[str] = ..., updated: _Optional[bool] = ...) -> None: ...

class ExportRequest(_message.Message):
    __slots__ = ("refs",)
    REFS_FIELD_NUMBER: _ClassVar[int]
    refs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, refs: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ("domain", "auth", "insecure")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    domain: str
    auth: RegistryAuth
    insecure: bool
    def __init__(self, domain: _Optional[str] = ..., auth: _Optional[_Union[RegistryAuth, _Mapping]] = ..., insecure: _Optional[bool] = ...) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ("status", "identity_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: str
    identity_token: str
    def __init__(self, status: _Optional[str] = ..., identity_token: _Optional[str] = ...) -> None: ...
