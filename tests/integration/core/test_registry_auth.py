"""The registry client's bearer-token flow against docker-registry (``auth: token``) and the tests' token
server: login, a refused password, scopes, and a token the registry no longer accepts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.core.remotes.registry import Credentials
from skiff.core.remotes.registry import Registry as Client

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from vm.registry import BINARY, Registry, TokenAuth
from vm.token_server import ISSUER, SERVICE, TokenServer

pytestmark = [pytest.mark.root, pytest.mark.skipif(not Path(BINARY).exists(), reason="needs docker-registry")]


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    with TokenServer(users={"alice": "s3cret"}) as tokens:
        assert tokens.cert is not None
        with Registry(token=TokenAuth(tokens.realm, SERVICE, ISSUER, tokens.cert)) as reg:
            yield reg


def test_login_with_good_and_bad_passwords(registry: Registry) -> None:
    with Client(registry.address, Credentials("alice", "s3cret"), insecure=True) as reg:
        reg.ping()
    with Client(registry.address, Credentials("alice", "wrong"), insecure=True) as reg, \
            pytest.raises(errdefs.Unknown) as err:
        reg.ping()
    assert str(err.value) == (f'Get "http://{registry.address}/v2/": unauthorized: '
                              "incorrect username or password")


def test_anonymous_tokens_carry_no_access(registry: Registry) -> None:
    with Client(registry.address, insecure=True) as reg, pytest.raises(errdefs.Unknown) as err:
        reg.start_upload("auth/a")
    assert str(err.value) == "denied: requested access to the resource is denied"


def test_a_token_the_registry_refuses_is_fetched_again(registry: Registry) -> None:
    scope = "repository:auth/b:pull,push"
    with Client(registry.address, Credentials("alice", "s3cret"), insecure=True) as reg:
        reg._tokens[scope] = "not-a-token"  # what an expired token looks like to the registry
        mounted, location = reg.start_upload("auth/b")
        assert not mounted and location
        assert reg._tokens[scope] != "not-a-token"


def test_login_keeps_a_refresh_token_and_an_identity_token_gets_access(registry: Registry) -> None:
    with Client(registry.address, Credentials("alice", "s3cret"), insecure=True) as reg:
        identity = reg.ping()
    assert identity.startswith("refresh-")
    with Client(registry.address, Credentials("alice", "", identity_token=identity), insecure=True) as reg:
        mounted, location = reg.start_upload("auth/c")
        assert not mounted and location
    with Client(registry.address, Credentials("alice", "", identity_token="refresh-bogus"), insecure=True
                ) as reg, pytest.raises(errdefs.Unknown, match="unauthorized: invalid grant"):
        reg.start_upload("auth/d")
