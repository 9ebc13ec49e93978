"""A registry v2 HTTP client: auth (basic and bearer tokens), manifests, blobs, uploads, mounts.

Blocking (httpx's sync client): the transfer code calls it from worker threads. One ``Registry`` per
registry host and operation; it remembers the scheme that answered and the tokens per scope.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin

import httpx

from skiff import errdefs
from skiff.core.images import mediatypes as mt
from skiff.core.remotes import schema1
from skiff.core.remotes.certs import tls_context

DOCKER_HUB = "docker.io"
HUB_ENDPOINT = "registry-1.docker.io"
MANIFEST_ACCEPT = ", ".join([mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST, mt.OCI_MANIFEST, mt.OCI_INDEX,
                             *schema1.MEDIA_TYPES])
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CLIENT_ID = "docker"  # the OAuth client_id dockerd sends to token servers
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""


@dataclass(frozen=True)
class Manifest:
    media_type: str
    data: bytes
    digest: str


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _bearer_error(resp: httpx.Response) -> errdefs.SkiffError | None:
    """RFC 6750's ``error=`` in a Bearer challenge, as distribution's client reads it first: a token
    without the scope is "denied", a bad token "unauthorized"."""
    challenge = resp.headers.get("www-authenticate", "")
    if resp.status_code != 401 or not challenge.lower().startswith("bearer"):
        return None
    params = dict(_CHALLENGE.findall(challenge))
    code = {"insufficient_scope": "denied", "invalid_token": "unauthorized"}.get(params.get("error", ""))
    if code is None:
        return None
    default = ("requested access to the resource is denied" if code == "denied"
               else "authentication required")
    return errdefs.Unknown(f"{code}: {params.get('error_description') or default}")


class TokenError(errdefs.Unknown):
    """The token server refused: the caller names the registry request it was for, as Go's client."""


def _token_error(resp: httpx.Response) -> TokenError:
    """A token server's answer: ``{"details": ...}`` (docker/auth) or registry-style ``errors``."""
    message = ""
    try:
        body = resp.json()
        message = str(body.get("details") or "") or str(((body.get("errors") or [{}])[0]).get("message", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        pass
    if resp.status_code == 401:
        return TokenError(f"unauthorized: {message or 'authentication required'}")
    if resp.status_code == 403:
        return TokenError(f"denied: {message or 'requested access to the resource is denied'}")
    return TokenError(f"token server: {resp.status_code} {message or resp.reason_phrase}".strip())


def _registry_error(resp: httpx.Response, what: str) -> errdefs.SkiffError:
    """The registry's own error message (``errors[0].message``) as Docker shows it."""
    try:
        errors = resp.json().get("errors") or []
        first = errors[0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        code, message = "", resp.reason_phrase
    bearer = _bearer_error(resp)
    if bearer is not None:
        return bearer
    if resp.status_code == 401:
        return errdefs.Unknown("unauthorized: authentication required" if not message
                               else f"unauthorized: {message}")
    if resp.status_code == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
        return errdefs.NotFound(f"{what}: {message.lower() or 'not found'}")
    if resp.status_code == 403:
        return errdefs.Unknown(f"denied: {message or 'requested access to the resource is denied'}")
    return errdefs.Unknown(f"{what}: {resp.status_code} {message}".strip())


class Registry:
    """One registry host (``127.0.0.1:5000``, ``docker.io``)."""

    def __init__(self, domain: str, creds: Credentials | None = None, insecure: bool = False) -> None:
        self.domain = domain
        self.host = HUB_ENDPOINT if domain == DOCKER_HUB else domain
        self.creds = creds or Credentials()
        self.insecure = insecure
        self._base = ""
        self._tokens: dict[str, str] = {}
        self._refreshed: set[str] = set()
        self._basic = False
        self.offline = False  # set by ping(): a login asks the token server for a refresh token
        self.refresh_token = ""
        self._lock = threading.Lock()
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=8)
        self._client = httpx.Client(timeout=TIMEOUT, verify=tls_context(self.host, insecure),
                                    follow_redirects=True,
                                    limits=limits, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------- endpoint and auth ----------
    @property
    def base(self) -> str:
        """``https://host`` or, for an insecure registry that does not speak TLS, ``http://host``."""
        with self._lock:
            if self._base:
                return self._base
            errors = []
            for scheme in ("https", "http") if self.insecure else ("https",):
                url = f"{scheme}://{self.host}/v2/"
                try:
                    self._client.get(url)
                    self._base = f"{scheme}://{self.host}"
                    return self._base
                except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as err:  # idna refuses the name
                    errors.append(f'Get "{url}": {_dial_message(err)}')
            if len(errors) == 2:
                raise errdefs.Unknown(errors[1])
            raise errdefs.Unknown(errors[0])

    def _auth_header(self, scope: str) -> dict[str, str]:
        if scope in self._tokens:
            return {"Authorization": f"Bearer {self._tokens[scope]}"}
        if self.creds.registry_token:
            return {"Authorization": f"Bearer {self.creds.registry_token}"}
        if self._basic and self.creds.username:
            raw = f"{self.creds.username}:{self.creds.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def _authorize(self, resp: httpx.Response, scope: str) -> bool:
        """Answer a 401 challenge; False when there is nothing new to try."""
        challenge = resp.headers.get("www-authenticate", "")
        kind = challenge.split(" ", 1)[0].lower()
        if kind == "basic":
            if self._basic or not self.creds.username:
                return False
            self._basic = True
            return True
        if kind != "bearer":
            return False
        params = dict(_CHALLENGE.findall(challenge))
        if scope in self._tokens:  # a token that expired is fetched again, once per scope
            if params.get("error") != "invalid_token" or scope in self._refreshed:
                return False
            self._refreshed.add(scope)
            del self._tokens[scope]
        realm = params.get("realm", "")
        if not realm:
            return False
        if self.creds.identity_token:
            tok = self._oauth_token(realm, params.get("service", ""), scope)
        else:
            query: list[tuple[str, str]] = []
            if params.get("service"):
                query.append(("service", params["service"]))
            query += [("scope", one) for one in scope.split()]  # one parameter per resource (the spec)
            auth = None
            if self.creds.username:
                auth = (self.creds.username, self.creds.password)
                query.append(("account", self.creds.username))
                if self.offline:  # docker login: ask for a refresh token to keep as the identity token
                    query += [("offline_token", "true"), ("client_id", CLIENT_ID)]
            tok = self._client.get(realm + ("?" + urlencode(query) if query else ""), auth=auth)
        if tok.status_code != 200:
            raise _token_error(tok)
        body = tok.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            return False
        if body.get("refresh_token"):
            self.refresh_token = str(body["refresh_token"])
        self._tokens[scope] = str(token)
        return True

    def _oauth_token(self, realm: str, service: str, scope: str) -> httpx.Response:
        """The OAuth2 form POST dockerd sends with an identity token (a refresh token from login)."""
        form = {"grant_type": "refresh_token", "refresh_token": self.creds.identity_token,
                "client_id": CLIENT_ID, "service": service, "scope": scope}
        return self._client.post(realm, data=form)

    def request(self, method: str, path: str, scope: str, **kwargs: Any) -> httpx.Response:
        """One request with auth; a 401 is answered once (credentials or a token) and retried."""
        url = path if path.startswith("http") else self.base + path
        headers = dict(kwargs.pop("headers", {}) or {})
        for _ in range(3):
            auth = self._auth_header(scope)
            resp = self._client.request(method, url, headers={**headers, **auth}, **kwargs)
            if resp.status_code != 401 or not self._answer(resp, scope, method, url):
                return resp
            resp.close()
        return resp

    def _answer(self, resp: httpx.Response, scope: str, method: str, url: str) -> bool:
        """``_authorize``, with a token server's refusal named after the request, as Go's client."""
        try:
            return self._authorize(resp, scope)
        except TokenError as err:
            raise errdefs.Unknown(f'{method.title()} "{url}": {err}') from None

    def stream(self, method: str, path: str, scope: str, **kwargs: Any) -> httpx.Response:
        """Like ``request`` but the body is not read: the caller iterates and closes it."""
        url = path if path.startswith("http") else self.base + path
        headers = dict(kwargs.pop("headers", {}) or {})
        for _ in range(3):
            req = self._client.build_request(method, url, headers={**headers, **self._auth_header(scope)},
                                             **kwargs)
            resp = self._client.send(req, stream=True)
            if resp.status_code != 401:
                return resp
            resp.read()
            resp.close()
            if not self._answer(resp, scope, method, url):
                return resp
        return resp

    def ping(self) -> str:
        """``GET /v2/`` with the credentials: Docker's login check. Returns the identity token (the
        refresh token a token server gave, "" if none)."""
        self.offline = True
        resp = self.request("GET", "/v2/", "")
        if resp.status_code == 401:
            raise errdefs.Unknown(f"login attempt to {self.base}/v2/ failed with status: 401 Unauthorized")
        if resp.status_code >= 400:
            raise _registry_error(resp, "login")
        return self.refresh_token

    # ---------- manifests ----------
    def get_manifest(self, repo: str, ref: str) -> Manifest:
        scope = f"repository:{repo}:pull"
        resp = self.request("GET", f"/v2/{repo}/manifests/{ref}", scope, headers={"Accept": MANIFEST_ACCEPT})
        if resp.status_code >= 400:
            shown = f"{self.domain}/{repo}" + (f"@{ref}" if ref.startswith("sha256:") else f":{ref}")
            if self.domain == DOCKER_HUB:
                shown = shown.removeprefix(f"{DOCKER_HUB}/").removeprefix("library/")
            url = f"{self.base}/v2/{repo}/manifests/{ref}"
            basic = resp.headers.get("www-authenticate", "").lower().startswith("basic")
            if resp.status_code == 401 and basic:
                raise errdefs.Unknown(f'Head "{url}": no basic auth credentials' if not self.creds.username
                                      else f'Head "{url}": unauthorized: authentication required')
            if resp.status_code == 401:
                raise errdefs.NotFound(f"pull access denied for {shown.rsplit(':', 1)[0]}, repository does "
                                       "not exist or may require 'docker login': denied: requested access "
                                       "to the resource is denied")
            err = _registry_error(resp, "manifest")
            if isinstance(err, errdefs.NotFound):
                raise errdefs.NotFound(f"manifest for {shown} not found: {_error_text(resp)}")
            raise err
        data = resp.content
        media_type = resp.headers.get("content-type", "").split(";")[0].strip()
        # a schema1 manifest's digest is its canonical payload's, without the signatures
        digest = digest_of(schema1.canonical(data) if schema1.is_schema1(media_type, data) else data)
        if ref.startswith("sha256:") and digest != ref:
            raise errdefs.InvalidArgument(f"manifest verification failed for digest {ref}")
        return Manifest(media_type, data, digest)

    def put_manifest(self, repo: str, tag: str, media_type: str, data: bytes) -> str:
        scope = f"repository:{repo}:pull,push"
        resp = self.request("PUT", f"/v2/{repo}/manifests/{tag}", scope, content=data,
                            headers={"Content-Type": media_type})
        if resp.status_code not in (200, 201, 202):
            raise _registry_error(resp, "put manifest")
        return resp.headers.get("docker-content-digest") or digest_of(data)

    # ---------- blobs ----------
    def open_blob(self, repo: str, digest: str, offset: int = 0) -> httpx.Response:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        resp = self.stream("GET", f"/v2/{repo}/blobs/{digest}", f"repository:{repo}:pull", headers=headers)
        if resp.status_code >= 400:
            resp.read()
            resp.close()
            raise _registry_error(resp, f"blob {digest}")
        return resp

    def get_blob(self, repo: str, digest: str) -> bytes:
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", f"repository:{repo}:pull")
        if resp.status_code >= 400:
            raise _registry_error(resp, f"blob {digest}")
        if digest_of(resp.content) != digest:
            raise errdefs.InvalidArgument(f"blob {digest}: digest mismatch")
        return resp.content

    def has_blob(self, repo: str, digest: str) -> bool:
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", f"repository:{repo}:pull,push")
        return resp.status_code == 200

    def start_upload(self, repo: str, mount: str = "", from_repo: str = "") -> tuple[bool, str]:
        """(mounted, upload location). With ``mount``/``from_repo`` the registry may link the blob (201)."""
        scope = f"repository:{repo}:pull,push"
        query = f"?mount={mount}&from={from_repo}" if mount else ""
        if mount:
            scope += f" repository:{from_repo}:pull"
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/{query}", scope)
        if resp.status_code == 201 and mount:
            return True, ""
        if resp.status_code != 202:
            raise _registry_error(resp, "start upload")
        return False, urljoin(self.base + "/", resp.headers["location"])

    def upload_status(self, repo: str, location: str) -> tuple[str, int]:
        """(location, bytes the registry holds) of an upload in progress: ``GET`` answers 204 with
        ``Range: 0-<last byte>`` (``0-0`` when empty)."""
        resp = self.request("GET", location, f"repository:{repo}:pull,push")
        if resp.status_code != 204:
            raise _registry_error(resp, "upload status")
        last = resp.headers.get("range", "0-0").rpartition("-")[2]
        held = int(last) + 1 if last.isdigit() and int(last) > 0 else 0
        return urljoin(self.base + "/", resp.headers.get("location", location)), held

    def upload_chunks(self, repo: str, location: str, f: BinaryIO, size: int, digest: str,
                      chunk_size: int, progress: Callable[[int], None] | None = None,
                      retries: int = 3, offset: int = 0) -> None:
        """The spec's chunked upload: one ``PATCH`` with ``Content-Range: <start>-<end>`` per chunk, each
        to the location the last answered, then ``PUT ?digest=``. A chunk that fails (connection lost,
        5xx, 416) is resumed from what the registry says it holds, up to ``retries`` times in a row;
        ``offset`` resumes an upload another client started (see ``upload_status``)."""
        scope = f"repository:{repo}:pull,push"
        failures = 0
        while offset < size:
            length = min(chunk_size, size - offset)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length),
                       "Content-Range": f"{offset}-{offset + length - 1}"}
            body = _FileRange(f, offset, length, progress)
            try:
                resp: httpx.Response | None = self.request("PATCH", location, scope, content=body,
                                                           headers=headers)
            except httpx.TransportError:
                resp = None
            if body.short:
                raise errdefs.Unknown(f"upload blob {digest}: the local blob is shorter than {size} bytes")
            if resp is not None and resp.status_code == 202:
                location = urljoin(self.base + "/", resp.headers["location"])
                offset += length
                failures = 0
                continue
            if resp is not None and resp.status_code < 500 and resp.status_code != 416:
                raise _registry_error(resp, "upload blob")
            failures += 1
            if failures > retries:
                raise (_registry_error(resp, "upload blob") if resp is not None
                       else errdefs.Unknown(f"upload blob {digest}: connection lost"))
            location, offset = self.upload_status(repo, location)
        self._commit_upload(repo, location, digest)

    def _commit_upload(self, repo: str, location: str, digest: str) -> None:
        sep = "&" if "?" in location else "?"
        resp = self.request("PUT", f"{location}{sep}digest={digest}", f"repository:{repo}:pull,push")
        if resp.status_code != 201:
            raise _registry_error(resp, "commit blob")

    def upload(self, repo: str, location: str, chunks: Iterator[bytes], digest: str) -> None:
        """PATCH the data as one chunked request, then PUT with the digest to commit it."""
        scope = f"repository:{repo}:pull,push"
        resp = self.request("PATCH", location, scope, content=chunks,
                            headers={"Content-Type": "application/octet-stream"})
        if resp.status_code != 202:
            raise _registry_error(resp, "upload blob")
        self._commit_upload(repo, urljoin(self.base + "/", resp.headers["location"]), digest)


class _FileRange:
    """``length`` bytes of ``f`` from ``offset``, read 1 MiB at a time (a chunk is never held whole in
    memory); iterable again for a retried request. ``progress`` hears the absolute offset sent."""

    PIECE = 1 << 20

    def __init__(self, f: BinaryIO, offset: int, length: int,
                 progress: Callable[[int], None] | None) -> None:
        self.f, self.offset, self.length, self.progress = f, offset, length, progress
        self.short = False

    def __iter__(self) -> Iterator[bytes]:
        self.f.seek(self.offset)
        sent = 0
        while sent < self.length:
            data = self.f.read(min(self.PIECE, self.length - sent))
            if not data:
                self.short = True
                return
            sent += len(data)
            yield data
            if self.progress is not None:
                self.progress(self.offset + sent)


def _error_text(resp: httpx.Response) -> str:
    """``manifest unknown: manifest unknown``: the registry's code (lower case, spaced) and message."""
    try:
        first = (resp.json().get("errors") or [])[0]
        return f"{str(first.get('code', '')).lower().replace('_', ' ')}: {first.get('message', '')}"
    except (ValueError, AttributeError, IndexError, TypeError):
        return resp.reason_phrase.lower()


def _dial_message(err: Exception) -> str:
    if isinstance(err, UnicodeError | httpx.InvalidURL):
        return "dial tcp: lookup: no such host"
    cause: Any = err.__context__ or err.__cause__
    text = str(cause or err)
    if "Connection refused" in text or "connection refused" in text.lower():
        return "connect: connection refused"
    if "Name or service not known" in text or "Temporary failure in name resolution" in text:
        return "dial tcp: lookup: no such host"
    if "ALERT_BAD_CERTIFICATE" in text or "CERTIFICATE_REQUIRED" in text:  # no client certificate
        return "remote error: tls: bad certificate"
    if "CERTIFICATE_VERIFY_FAILED" in text:  # Go's x509 wording
        if "mismatch" in text:
            return "x509: certificate is not valid for this host"
        return "x509: certificate signed by unknown authority"
    if "SSL" in text or "ssl" in text:
        return "http: server gave HTTP response to HTTPS client"
    return text or type(err).__name__
