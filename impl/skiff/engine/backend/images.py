"""The images backend: list, inspect, tag, delete, load, import and pull, over CoreClient's image RPCs."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from skiff import errdefs
from skiff.core.images import references
from skiff.engine.backend import changes as changes_mod
from skiff.engine.backend import filters as filters_mod
from skiff.engine.backend import imagehistory, imageprune, merge, timefmt
from skiff.engine.backend.events import EventBus

log = logging.getLogger("skiff.engine.backend.images")

ENGINE_DOCKER_VERSION = "20.10.24-skiff"


class ImageUsers(Protocol):
    """What image deletion needs to know about containers."""

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        """(container ID, running) for each container created from ``image_id``."""
        ...


def stream_line(obj: Any) -> bytes:
    """A JSON-lines progress message the way Docker's streamformatter ends it."""
    return json.dumps(obj, separators=(",", ":")).encode() + b"\r\n"


def short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _config_of(image: Any) -> dict[str, Any]:
    try:
        value = json.loads(bytes(image.config) or b"{}")
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


class ImageService:
    """One service per domain: the images half of skiffd's backend."""

    def __init__(
        self, core: Any, users: Callable[[], ImageUsers | None] = lambda: None, events: EventBus | None = None
    ) -> None:
        self.core = core
        self._users = users
        self.events = events if events is not None else EventBus()
        self.insecure_registries: list[str] = []  # daemon.json insecure-registries
        self._distribution: Any = None

    # ---------- lookup ----------
    async def resolve(self, ref: str) -> Any:
        """A name, a full or short ID: the core Image, or Docker's "No such image"."""
        not_found = errdefs.NotFound(f"No such image: {references.missing_name(ref) if ref else ref}")
        candidates: list[str] = []
        try:
            candidates.append(references.normalised_name(ref))
        except errdefs.InvalidArgument:
            if not references.looks_like_id(ref):
                raise
        if references.looks_like_id(ref):
            candidates.append(ref)
        for candidate in candidates:
            try:
                return await self.core.images_get(candidate)
            except errdefs.NotFound:
                continue
        raise not_found

    async def _all(self) -> list[Any]:
        return list(await self.core.images_list())

    async def names_of(self, image_id: str) -> list[str]:
        """The tags (RepoTags); digest references (a pull by digest) are RepoDigests."""
        return sorted(
            {references.familiar(i.name) for i in await self._all()
             if i.id == image_id and i.name and "@" not in i.name}
        )

    async def digests_of(self, image_id: str) -> list[str]:
        return sorted(
            {references.familiar(i.name) for i in await self._all() if i.id == image_id and "@" in i.name}
        )

    async def has_children(self, image_id: str) -> bool:
        """Whether a commit was made over ``image_id`` (dockerd's image store children)."""
        return any(i.id != image_id and imagehistory.parent_of(i, _config_of(i)) == image_id
                   for i in await self._all())

    async def count(self) -> int:
        return len({i.id for i in await self._all()})

    # ---------- list ----------
    async def list_(
        self, all_: bool = False, filters: str | None = None, digests: bool = False
    ) -> list[dict[str, Any]]:
        wanted = filters_mod.parse(filters)
        filters_mod.validate(wanted, ("dangling", "label", "reference", "before", "since"))
        bounds: dict[str, int] = {}
        for key in ("before", "since"):
            for value in wanted.get(key, []):
                other = _config_of(await self.resolve(value))
                bounds[key] = timefmt.parse_ns(str(other.get("created", "")))
        by_id: dict[str, list[Any]] = {}
        for image in await self._all():
            by_id.setdefault(image.id, []).append(image)
        out = []
        parents = {imagehistory.parent_of(e[0], _config_of(e[0])) for e in by_id.values()}
        for image_id, entries in by_id.items():
            first = entries[0]
            config = _config_of(first)
            if not all_ and image_id in parents and not any(e.name for e in entries):
                continue  # an untagged parent of another image: an intermediate image, shown with -a only
            created_ns = timefmt.parse_ns(str(config.get("created", "")))
            if "before" in bounds and created_ns >= bounds["before"]:
                continue
            if "since" in bounds and created_ns <= bounds["since"]:
                continue
            tags = sorted({references.familiar(e.name) for e in entries if e.name and "@" not in e.name})
            repo_digests = sorted({references.familiar(e.name) for e in entries if "@" in e.name})
            labels = (config.get("config") or {}).get("Labels") or None
            if "dangling" in wanted:
                want_dangling = wanted["dangling"][0].lower() in ("true", "1")
                # dockerd: an image with only repo@digest references shows under dangling=true and =false
                if (not want_dangling and not tags and not repo_digests) or (want_dangling and tags):
                    continue
            if not filters_mod.match_labels(wanted.get("label", []), labels):
                continue
            if "reference" in wanted:  # dockerd lists only the references that match
                tags = [t for t in tags if any(_reference_matches(p, t) for p in wanted["reference"])]
                repo_digests = [d for d in repo_digests
                                if any(_reference_matches(p, d) for p in wanted["reference"])]
                if not tags and not repo_digests:
                    continue
            out.append(
                {
                    "Containers": -1,
                    "Created": timefmt.parse_ns(str(config.get("created", ""))) // 1_000_000_000,
                    "Id": image_id,
                    "Labels": labels,
                    "ParentId": imagehistory.parent_of(first, config),
                    "RepoDigests": repo_digests or (None if tags else ["<none>@<none>"]),
                    "RepoTags": tags or ["<none>:<none>"],
                    "SharedSize": -1,
                    "Size": int(first.size),
                    "VirtualSize": int(first.size),
                }
            )
        out.sort(key=lambda d: (d["Created"], d["Id"]), reverse=True)
        return out

    # ---------- inspect ----------
    async def inspect(self, name: str) -> dict[str, Any]:
        try:
            image = await self.resolve(name)
        except errdefs.SkiffError as err:  # dockerd's LookupImage wraps every lookup error
            raise type(err)(f"no such image: {name}: {err}") from None
        config = _config_of(image)
        history = config.get("history") or []
        comment = str(config.get("comment") or (history[-1].get("comment", "") if history else ""))
        container_config = config.get("container_config")
        return {
            "Id": image.id,
            "RepoTags": await self.names_of(image.id),
            "RepoDigests": await self.digests_of(image.id),
            "Parent": imagehistory.parent_of(image, config),
            "Comment": comment,
            "Created": str(config.get("created", timefmt.ZERO_TIME)),
            "Container": str(config.get("container", "")),
            "ContainerConfig": merge.fill_config(container_config),
            "DockerVersion": str(config.get("docker_version", "")),
            "Author": str(config.get("author", "")),
            "Config": merge.fill_config(config.get("config")),
            "Architecture": str(config.get("architecture", "")),
            **({"Variant": config["variant"]} if config.get("variant") else {}),
            "Os": str(config.get("os", "")),
            "Size": int(image.size),
            "VirtualSize": int(image.size),
            "GraphDriver": {"Data": {}, "Name": "overlay2"},  # the spec: an object, never null (recorder)
            "RootFS": {"Type": "layers", "Layers": list(image.diff_ids)},
            "Metadata": {"LastTagTime": image.created_at or timefmt.ZERO_TIME},
        }

    async def image_config(self, image: Any) -> dict[str, Any]:
        return dict(_config_of(image).get("config") or {})

    async def history(self, name: str) -> list[dict[str, Any]]:
        """Newest first, each layer's own size, IDs along the Parent chain (backend/imagehistory.py)."""
        return await imagehistory.history(await self.resolve(name), _config_of, self.resolve, self.names_of)

    async def prune(self, filters: str | None = None) -> dict[str, Any]:
        """Images no container uses: only untagged ones unless ``dangling=false`` (backend/imageprune.py)."""
        return await imageprune.prune(self, filters, _config_of, log)

    # ---------- tag ----------
    async def tag(self, name: str, repo: str, tag: str | None) -> None:
        source = await self.resolve(name)
        try:
            target = references.parse(repo)
            if target.digest:
                raise errdefs.InvalidArgument("refusing to create a tag with a digest reference")
            full = str(references.Reference(target.domain, target.path, tag or target.tag or "latest"))
            if tag:
                references.parse(f"{target.familiar_name()}:{tag}")
        except errdefs.InvalidArgument as err:
            raise errdefs.Unknown(str(err)) from None
        await self.core.images_tag(source.id, full)
        self.events.publish("image", "tag", source.id, {"name": references.familiar(full)})

    # ---------- delete ----------
    async def delete(self, name: str, force: bool = False, noprune: bool = False) -> list[dict[str, str]]:
        image = await self.resolve(name)
        out = await self._delete(name, force, noprune)
        for entry in out:
            if "Untagged" in entry:
                self.events.publish("image", "untag", image.id, {"name": entry["Untagged"]})
            elif entry.get("Deleted") == image.id:
                self.events.publish("image", "delete", image.id, {"name": image.id})
        return out

    async def _untag_digests(self, image_id: str, name: str, tags: list[str], resp: Any,
                             out: list[dict[str, str]]) -> tuple[Any, list[str]]:
        """dockerd: untagging a repository's last tag also untags that repository's repo@digest
        references. Returns the last core answer and the digest references left."""
        removed = references.parse(references.normalised_name(name))
        digests = await self.digests_of(image_id)
        if removed.digest or any(references.parse(t).name == removed.name for t in tags
                                 if references.normalised_name(t) != str(removed)):
            return resp, digests
        left = []
        for d in digests:
            if references.parse(d).name != removed.name:
                left.append(d)
                continue
            resp = await self.core.images_delete(references.normalised_name(d))
            out.append({"Untagged": d})
        return resp, left

    async def _delete(self, name: str, force: bool = False, noprune: bool = False) -> list[dict[str, str]]:
        image = await self.resolve(name)
        users = self._users()
        using = users.containers_using(image.id) if users else []
        names = await self.names_of(image.id)
        by_id = (
            references.looks_like_id(name)
            and image.id.removeprefix("sha256:").startswith(name.removeprefix("sha256:"))
            and references.familiar_tagged(name) not in names
        )
        out: list[dict[str, str]] = []
        if not by_id:
            tagged = references.familiar_tagged(name)
            if len(names) == 1 and using and not force:
                raise errdefs.Conflict(
                    f'conflict: unable to remove repository reference "{name}" (must force) - container '
                    f"{using[0][0][:12]} is using its referenced image {short(image.id)}"
                )
            resp = await self.core.images_delete(references.normalised_name(name))
            out += [{"Untagged": references.familiar(u)} for u in resp.untagged] or [{"Untagged": tagged}]
            resp, digests = await self._untag_digests(image.id, name, names, resp, out)
            if len(names) > 1 or digests or using:
                return out
            out += [{"Deleted": d} for d in resp.deleted]
            return out
        if await self.has_children(image.id):
            raise errdefs.Conflict(
                f"conflict: unable to delete {short(image.id)} (cannot be forced) - image has dependent "
                "child images"
            )
        running = [cid for cid, is_running in using if is_running]
        if running:
            raise errdefs.Conflict(
                f"conflict: unable to delete {short(image.id)} (cannot be forced) - image is being used by "
                f"running container {running[0][:12]}"
            )
        if len(names) > 1 and not force:
            raise errdefs.Conflict(
                f"conflict: unable to delete {short(image.id)} (must be forced) - image is referenced in "
                "multiple repositories"
            )
        if using and not force:
            raise errdefs.Conflict(
                f"conflict: unable to delete {short(image.id)} (must be forced) - image is being used by "
                f"stopped container {using[0][0][:12]}"
            )
        for n in names + await self.digests_of(image.id):
            resp = await self.core.images_delete(references.normalised_name(n))
            out += [{"Untagged": references.familiar(u)} for u in resp.untagged] or [{"Untagged": n}]
            out += [{"Deleted": d} for d in resp.deleted]
        if not any("Deleted" in entry for entry in out):
            try:
                resp = await self.core.images_delete(image.id)
                out += [{"Deleted": d} for d in resp.deleted]
            except errdefs.NotFound:
                pass
        return out

    # ---------- load / import / pull ----------
    async def load(self, chunks: AsyncIterator[bytes], quiet: bool = False) -> AsyncIterator[bytes]:
        """JSON lines ``{"stream": "Loaded image: busybox:latest\\n"}``; errors end the stream as Docker's."""
        try:
            async for progress in self.core.images_load(chunks):
                if progress.loaded_name:
                    text = f"Loaded image: {references.familiar(progress.loaded_name)}\n"
                else:
                    text = f"Loaded image ID: {progress.loaded_id}\n"
                yield stream_line({"stream": text})
                loaded = progress.loaded_name or progress.loaded_id
                self.events.publish("image", "load", loaded, {"name": references.familiar(loaded)})
        except errdefs.SkiffError as err:
            yield stream_line({"errorDetail": {"message": str(err)}, "error": str(err)})

    def import_options(
        self, repo: str | None, tag: str | None, changes: Iterable[str], message: str | None
    ) -> tuple[str, dict[str, Any], str]:
        """Validate everything before the body is read: (name, partial config, comment)."""
        name = ""
        if repo:
            ref = references.parse(repo)
            if tag:
                references.parse(f"{ref.familiar_name()}:{tag}")
            name = str(references.Reference(ref.domain, ref.path, tag or ref.tag or "latest", ref.digest))
        config = changes_mod.apply({}, changes)
        return name, ({"config": config} if config else {}), message or "Imported from -"

    async def import_(
        self, chunks: AsyncIterator[bytes], name: str, config: dict[str, Any], comment: str
    ) -> bytes:
        image = await self.core.images_import(chunks, name=name, config=config, comment=comment)
        self.events.publish("image", "import", image.id, {"name": image.id})
        return stream_line({"status": image.id})

    async def _registry_error(self, domain: str) -> str:
        """Go's error for ``GET <registry>/v2/`` when the registry cannot be reached ("" if it can)."""
        url_host = "registry-1.docker.io" if domain == references.DEFAULT_DOMAIN else domain
        name, _, port = url_host.partition(":")
        insecure = name == "localhost" or name.startswith("127.")
        scheme = "http" if insecure else "https"
        message = await _dial_error(name, int(port or (80 if insecure else 443)))
        return f'Get "{scheme}://{url_host}/v2/": {message}' if message else ""

    async def push(self, name: str, tag: str | None, auth: str | None = None) -> AsyncIterator[bytes]:
        """``POST /images/{name}/push``: the core's Transfer service; dockerd's JSON stream."""
        ref = references.parse(name)
        wanted = f"{ref.familiar_name()}:{tag}" if tag else name
        try:
            await self.resolve(wanted)
        except errdefs.NotFound:
            yield stream_line({"status": f"The push refers to repository [{ref.name}]"})
            message = f"An image does not exist locally with the tag: {ref.familiar_name()}"
            yield stream_line({"errorDetail": {"message": message}, "error": message})
            return
        message = await self._registry_error(ref.domain)
        if message:
            yield stream_line({"status": f"The push refers to repository [{ref.name}]"})
            yield stream_line({"errorDetail": {"message": message}, "error": message})
            return
        async for line in self.distribution().push(str(references.parse(wanted).with_default_tag()), auth):
            yield line

    def distribution(self) -> Any:
        from skiff.engine.backend.distribution import Distribution

        if self._distribution is None:
            self._distribution = Distribution(self.core, self.insecure_registries)
        return self._distribution

    async def search(self, term: str) -> list[dict[str, Any]]:
        """Searching is a later issue: answer as dockerd does when the index cannot be reached."""
        # registry.ParseSearchIndexInfo: an index only when the first part has a "." or ":" (fuzz: an
        # upper-case or non-ASCII first part is a repository on the default index, as in dockerd)
        first, sep, _rest = term.partition("/")
        domain = first if sep and ("." in first or ":" in first) else references.DEFAULT_DOMAIN
        if domain == references.DEFAULT_DOMAIN:
            message = await _dial_error("index.docker.io", 443)
            if message:
                raise errdefs.Unknown(f'Get "https://index.docker.io/v1/search?q={term}&n=25": {message}')
        else:
            host, _, port = domain.partition(":")
            https = await _dial_error(host, int(port or 443))
            http = await _dial_error(host, int(port or 80))
            if https and http:
                raise errdefs.Unknown(
                    f'invalid registry endpoint "http://{domain}/v1/". HTTPS attempt: Get '
                    f'"https://{domain}/v1/_ping": {https}. '
                    f'HTTP attempt: Get "http://{domain}/v1/_ping": {http}'
                )
            from skiff.engine.backend.distribution import search_v1

            return await search_v1(domain, term.split("/", 1)[1] if "/" in term else term, not https)
        raise errdefs.NotImplemented_("searching a registry is not supported by skiff yet")

    async def pull(
        self, from_image: str, tag: str | None, auth: str | None = None, platform: str | None = None
    ) -> AsyncIterator[bytes]:
        """``POST /images/create?fromImage=``: errors before the first progress line are raised."""
        ref = references.parse(from_image)
        if tag and not ref.tag and not ref.digest:
            ref = references.parse(f"{from_image}@{tag}" if ":" in tag else f"{from_image}:{tag}")
        message = await self._registry_error(ref.domain)
        if message:
            raise errdefs.Unknown(message)
        lines: AsyncIterator[bytes] = await self.distribution().pull(
            str(ref.with_default_tag()), auth, platform or ""
        )
        return lines


def _reference_matches(pattern: str, tag: str) -> bool:
    import fnmatch

    repo = tag.split("@", 1)[0] if "@" in tag else tag.rsplit(":", 1)[0]
    return fnmatch.fnmatchcase(tag, pattern) or fnmatch.fnmatchcase(repo, pattern)


def _nameserver() -> str:
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return f"{parts[1]}:53"
    except OSError:
        pass
    return "127.0.0.1:53"


async def _dial_error(host: str, port: int) -> str:
    """Go's dial error text for host:port, or "" when a TCP connection succeeds."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), 5)
    except (OSError, TimeoutError, UnicodeError):  # UnicodeError: a name idna refuses (fuzz)
        return f"dial tcp: lookup {host} on {_nameserver()}: no such host"
    ip, port = str(infos[0][4][0]), int(infos[0][4][1])
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 5)
        writer.close()
        return ""
    except ConnectionRefusedError:
        return f"dial tcp {ip}:{port}: connect: connection refused"
    except (OSError, TimeoutError):
        return f"dial tcp {ip}:{port}: i/o timeout"
