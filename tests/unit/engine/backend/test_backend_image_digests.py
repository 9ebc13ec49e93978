"""repo@digest references in the images backend: rmi of a repository's last tag takes its digests along,
the reference filter narrows the names listed, and digest-only images count as dangling (dockerd)."""

from __future__ import annotations

import pytest
from skiff.engine.backend import ImageService
from skiff_fakecore import BUSYBOX_CONFIG, BUSYBOX_ID, FakeCore

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

DIGEST = "sha256:" + "d1" * 32
OTHER = "sha256:" + "77" * 32
REPO = "127.0.0.1:5000/app"


def _pulled(core: FakeCore) -> None:
    core.add_image(f"{REPO}:1", BUSYBOX_ID, BUSYBOX_CONFIG, size=10)
    core.add_image(f"{REPO}@{DIGEST}", BUSYBOX_ID, BUSYBOX_CONFIG, size=10)


async def test_rmi_of_the_last_tag_of_a_repository_untags_its_digests(images: ImageService, core: FakeCore
                                                                      ) -> None:
    _pulled(core)
    out = await images.delete(f"{REPO}:1")
    assert out[:2] == [{"Untagged": f"{REPO}:1"}, {"Untagged": f"{REPO}@{DIGEST}"}]
    assert f"{REPO}@{DIGEST}" not in core.images
    assert "docker.io/library/busybox:latest" in core.images  # the image keeps its other name


async def test_another_tag_of_the_repository_keeps_the_digest(images: ImageService, core: FakeCore) -> None:
    _pulled(core)
    core.add_image(f"{REPO}:2", BUSYBOX_ID, BUSYBOX_CONFIG, size=10)
    assert await images.delete(f"{REPO}:1") == [{"Untagged": f"{REPO}:1"}]
    assert f"{REPO}@{DIGEST}" in core.images


async def test_the_reference_filter_lists_only_matching_names(images: ImageService, core: FakeCore) -> None:
    _pulled(core)
    [item] = await images.list_(filters='{"reference":["127.0.0.1:5000/app"]}')
    assert item["RepoTags"] == [f"{REPO}:1"] and item["RepoDigests"] == [f"{REPO}@{DIGEST}"]


async def test_an_image_with_only_digests_is_dangling_and_not(images: ImageService, core: FakeCore) -> None:
    core.add_image(f"{REPO}@{OTHER}", "sha256:" + "ee" * 32, {"created": "2026-11-27T12:00:00Z"}, size=1)
    for value in ("true", "false"):
        ids = [i["Id"] for i in await images.list_(filters=f'{{"dangling":["{value}"]}}')]
        assert "sha256:" + "ee" * 32 in ids
    assert BUSYBOX_ID not in [i["Id"] for i in await images.list_(filters='{"dangling":["true"]}')]
