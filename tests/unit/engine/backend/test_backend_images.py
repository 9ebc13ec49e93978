"""The images backend over a fake core: list/inspect shapes, tag, delete conflicts, load, import, pull."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from skiff import errdefs
from skiff.engine.backend import ContainerService, ImageService
from skiff_fakecore import BUSYBOX_CONFIG, BUSYBOX_ID, FakeCore

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


async def test_list_shape(images: ImageService, core: FakeCore) -> None:
    core.add_image("", "sha256:" + "11" * 32, {"created": "2026-11-27T12:57:34Z", "config": {}}, size=1923)
    items = await images.list_()
    assert items[0] == {
        "Containers": -1,
        "Created": 1795784259,
        "Id": BUSYBOX_ID,
        "Labels": None,
        "ParentId": "",
        "RepoDigests": None,
        "RepoTags": ["busybox:latest"],
        "SharedSize": -1,
        "Size": 1984172,
        "VirtualSize": 1984172,
    }
    assert items[1]["RepoTags"] == ["<none>:<none>"] and items[1]["RepoDigests"] == ["<none>@<none>"]
    assert [i["Id"] for i in await images.list_(filters='{"dangling":["true"]}')] == ["sha256:" + "11" * 32]
    assert [i["Id"] for i in await images.list_(filters='{"reference":["busy*"]}')] == [BUSYBOX_ID]
    assert await images.count() == 2


async def test_inspect_shape(images: ImageService) -> None:
    info = await images.inspect("busybox")
    assert info["Id"] == BUSYBOX_ID and info["RepoTags"] == ["busybox:latest"] and info["RepoDigests"] == []
    assert info["Comment"] == "Imported from -" and info["Created"] == "2026-11-27T12:57:39.893781925Z"
    assert info["Config"]["Cmd"] == ["sh"] and info["Config"]["Labels"] is None
    assert (
        info["ContainerConfig"]["Env"] is None and info["Architecture"] == "amd64" and info["Os"] == "linux"
    )
    assert info["RootFS"] == {"Type": "layers", "Layers": ["sha256:" + "6e" * 32]}
    assert info["Size"] == info["VirtualSize"] == 1984172
    assert (await images.inspect(BUSYBOX_ID[7:19]))["Id"] == BUSYBOX_ID
    with pytest.raises(errdefs.NotFound, match=r"^no such image: busybox:nope: No such image: busybox:nope$"):
        await images.inspect("busybox:nope")
    with pytest.raises(errdefs.NotFound, match=r"^no such image: nosuch: No such image: nosuch:latest$"):
        await images.inspect("nosuch")
    with pytest.raises(errdefs.InvalidArgument, match=r"^no such image: Foo: invalid reference format"):
        await images.inspect("Foo")


async def test_missing_image_names_as_docker(images: ImageService) -> None:
    """dockerd names a missing reference after ParseAnyReference: IDs as sha256 digests, names tagged."""
    hex64 = "ab" * 32
    for ref, shown in [
        ("abcdef12", "abcdef12:latest"),
        (hex64, f"sha256:{hex64}"),
        (f"sha256:{hex64}", f"sha256:{hex64}"),
        ("sha256:abc", "sha256:abc"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
    ]:
        with pytest.raises(errdefs.NotFound, match=rf"^No such image: {shown}$"):
            await images.history(ref)


async def test_tag_and_untag(images: ImageService, core: FakeCore) -> None:
    await images.tag("busybox", "myrepo", "v1")
    assert "docker.io/library/myrepo:v1" in core.images
    assert (await images.inspect("myrepo:v1"))["RepoTags"] == ["busybox:latest", "myrepo:v1"]
    with pytest.raises(errdefs.Unknown, match=r"repository name must be lowercase"):
        await images.tag("busybox", "Bad", "v1")
    with pytest.raises(errdefs.NotFound, match=r"^No such image: busybox:nope$"):
        await images.tag("busybox:nope", "x", "y")
    assert await images.delete("myrepo:v1") == [{"Untagged": "myrepo:v1"}]
    with pytest.raises(errdefs.NotFound, match=r"^No such image: myrepo:v1$"):
        await images.delete("myrepo:v1")


async def test_delete_conflicts(images: ImageService, containers: ContainerService, core: FakeCore) -> None:
    cid = (await containers.create("user", {"Image": "busybox"}))["Id"]
    with pytest.raises(errdefs.Conflict) as exc:
        await images.delete("busybox")
    assert str(exc.value) == (
        f'conflict: unable to remove repository reference "busybox" (must force) - '
        f"container {cid[:12]} is using its referenced image {BUSYBOX_ID[7:19]}"
    )
    with pytest.raises(errdefs.Conflict, match=r"image is being used by stopped container"):
        await images.delete(BUSYBOX_ID[7:19])
    await images.tag("busybox", "other", None)
    with pytest.raises(errdefs.Conflict, match=r"\(must be forced\) - image is referenced in multiple"):
        await images.delete(BUSYBOX_ID)
    await containers.delete(cid)
    out = await images.delete(BUSYBOX_ID, force=True)
    assert {"Deleted": BUSYBOX_ID} in out and {"Untagged": "busybox:latest"} in out
    assert core.images == {}


async def test_load_and_import(images: ImageService, core: FakeCore) -> None:
    lines = [line async for line in images.load(chunks(b"LOAD docker.io/library/", b"x:1"))]
    assert lines == [b'{"stream":"Loaded image: x:1\\n"}\r\n']
    bad = [line async for line in images.load(chunks(b"junk"))]
    assert json.loads(bad[0]) == {
        "errorDetail": {"message": "not a docker-save archive"},
        "error": "not a docker-save archive",
    }
    name, config, comment = images.import_options("imp", "t1", ['CMD ["sh"]', "ENV A=1"], None)
    assert name == "docker.io/library/imp:t1" and comment == "Imported from -"
    assert config == {"config": {"Cmd": ["sh"], "Env": ["A=1"]}}
    line = await images.import_(chunks(b"abc"), name, config, comment)
    assert line == b'{"status":"sha256:' + b"0" * 63 + b'3"}\r\n'
    call_name, (sent_name, sent_config, sent_data) = core.calls[-1]
    assert (call_name, sent_name, sent_data) == ("images_import", "docker.io/library/imp:t1", b"abc")
    assert sent_config["config"] == {"Cmd": ["sh"], "Env": ["A=1"]}
    with pytest.raises(errdefs.InvalidArgument, match=r"^bogus is not a valid change command$"):
        images.import_options(None, None, ["BOGUS x"], None)
    with pytest.raises(errdefs.InvalidArgument, match=r"must be lowercase"):
        images.import_options("Bad", None, [], None)


async def test_pull_answers_like_an_unreachable_registry(images: ImageService) -> None:
    with pytest.raises(errdefs.Unknown) as exc:
        await images.pull("localhost:1/busybox", "latest")
    assert str(exc.value) == 'Get "http://localhost:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'


async def test_history(images: ImageService) -> None:
    assert await images.history("busybox") == [
        {
            "Comment": "Imported from -",
            "Created": 1795784259,
            "CreatedBy": "",
            "Id": BUSYBOX_ID,
            "Size": 1984172,
            "Tags": ["busybox:latest"],
        }
    ]
    with pytest.raises(errdefs.NotFound, match=r"^No such image: nosuch:latest$"):
        await images.history("nosuch")


async def test_prune(images: ImageService, containers: ContainerService, core: FakeCore) -> None:
    """SpaceReclaimed is the size of the layers that went away (dockerd), not of the images."""
    dangling = "sha256:" + "22" * 32
    layer = "sha256:" + "2a" * 32
    core.add_image("", dangling, {"created": "2026-11-27T12:00:00Z", "config": {},
                                  "rootfs": {"diff_ids": [layer]}}, size=7)
    used = "sha256:" + "33" * 32
    core.add_image(
        "docker.io/library/used:1", used, {"created": "2026-11-27T12:00:00Z", "config": {}}, size=9
    )
    await containers.create(None, {"Image": "used:1", "Cmd": ["true"]})
    assert await images.prune('{"label":["x"]}') == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    assert await images.prune() == {"ImagesDeleted": [{"Deleted": dangling}, {"Deleted": layer}],
                                    "SpaceReclaimed": 7}
    out = await images.prune('{"dangling":["false"]}')
    assert out["ImagesDeleted"] == [{"Untagged": "busybox:latest"}, {"Deleted": BUSYBOX_ID},
                                    {"Deleted": "sha256:" + "6e" * 32}]
    assert out["SpaceReclaimed"] == 1984172
    assert "docker.io/library/used:1" in core.images
    with pytest.raises(errdefs.InvalidArgument, match=r"^Invalid filter 'dangling=\[maybe\]'$"):
        await images.prune('{"dangling":["maybe"]}')


async def test_history_follows_the_parent_chain(images: ImageService, core: FakeCore) -> None:
    child_config = {
        "created": "2026-11-27T13:00:00Z",
        "rootfs": {"diff_ids": ["sha256:" + "6e" * 32, "sha256:" + "77" * 32]},
        "history": [*BUSYBOX_CONFIG["history"], {"created": "2026-11-27T13:00:00Z", "created_by": "sh"}],
    }
    child = core.add_image("docker.io/library/child:1", "sha256:" + "cc" * 32, child_config, size=9)
    child.labels["io.skiff.image.layer-sizes"] = "[1984172, 9]"
    child.labels["io.skiff.image.parent"] = BUSYBOX_ID
    out = await images.history("child:1")
    assert [(h["Id"], h["Size"], h["Tags"], h["CreatedBy"]) for h in out] == [
        ("sha256:" + "cc" * 32, 9, ["child:1"], "sh"),
        (BUSYBOX_ID, 1984172, ["busybox:latest"], ""),
    ]
    assert (await images.inspect("child:1"))["Parent"] == BUSYBOX_ID


async def test_push_and_search_answer_like_an_unreachable_registry(
    images: ImageService, core: FakeCore
) -> None:
    await images.tag("busybox", "localhost:1/bb", "x")
    lines = [json.loads(line) async for line in images.push("localhost:1/bb", "x")]
    message = 'Get "http://localhost:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'
    assert lines == [
        {"status": "The push refers to repository [localhost:1/bb]"},
        {"errorDetail": {"message": message}, "error": message},
    ]
    lines = [json.loads(line) async for line in images.push("nosuch", None)]
    assert lines[1]["error"] == "An image does not exist locally with the tag: nosuch"
    with pytest.raises(errdefs.Unknown, match=r'^invalid registry endpoint "http://localhost:1/v1/"\. HTTPS'):
        await images.search("localhost:1/busybox")


async def test_list_before_and_since(images: ImageService, core: FakeCore) -> None:
    core.add_image("docker.io/library/older:1", "sha256:" + "44" * 32, {"created": "2020-01-01T00:00:00Z"})
    assert [i["RepoTags"] for i in await images.list_(filters='{"before":["busybox"]}')] == [["older:1"]]
    assert [i["RepoTags"] for i in await images.list_(filters='{"since":["older:1"]}')] == [
        ["busybox:latest"]
    ]
