"""IPAM, the nftables rendering (golden file) and the embedded DNS message handling: pure, no privileges."""

from __future__ import annotations

import ipaddress
import os
import struct
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.network import dns, ipam, nft

pytestmark = pytest.mark.unit
GOLDEN = Path(__file__).parent / "golden"


def test_pool_allocates_lowest_free_address_after_the_gateway() -> None:
    pool = ipam.Pool.parse("10.9.0.0/29")
    assert str(pool.gateway) == "10.9.0.1"
    assert [str(pool.allocate()) for _ in range(3)] == ["10.9.0.2", "10.9.0.3", "10.9.0.4"]
    pool.release("10.9.0.3")
    assert str(pool.allocate()) == "10.9.0.3"


def test_pool_runs_out_with_docker_message() -> None:
    pool = ipam.Pool.parse("10.9.0.0/30")
    pool.allocate()
    with pytest.raises(errdefs.Unavailable, match="no available IPv4 addresses"):
        pool.allocate()


def test_static_address_and_ip_range() -> None:
    pool = ipam.Pool.parse("10.9.0.0/24", "10.9.0.254", "10.9.0.128/25")
    assert str(pool.allocate()) == "10.9.0.128"
    assert str(pool.allocate("10.9.0.7")) == "10.9.0.7"
    with pytest.raises(errdefs.Conflict):
        pool.allocate("10.9.0.7")


@pytest.mark.parametrize(
    ("subnet", "gateway", "message"),
    [
        ("10.9.0.0/33", "", "Invalid subnet 10.9.0.0/33 : invalid CIDR address: 10.9.0.0/33"),
        ("nonsense", "", "Invalid subnet nonsense : invalid CIDR address: nonsense"),
        ("10.9.0.0/24", "10.8.0.1",
         r"failed to allocate gateway \(10.8.0.1\): Requested address is out of range"),
    ],
)
def test_bad_ipam_config(subnet: str, gateway: str, message: str) -> None:
    """libnetwork's untyped errors: dockerd answers them with 500."""
    with pytest.raises(errdefs.Unknown, match=message):
        ipam.Pool.parse(subnet, gateway)


def test_pick_subnet_skips_taken_pools_and_mac_follows_the_address() -> None:
    assert ipam.pick_subnet(["172.18.0.0/16", "172.19.5.0/24"]) == "172.20.0.0/16"
    assert ipam.mac_for(ipaddress.IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"


def test_nft_render_matches_golden() -> None:
    text = nft.render(
        "skiff",
        [nft.Masquerade("172.31.0.0/16", "skiff0")],
        [
            nft.PortRule("tcp", "0.0.0.0", 8080, "172.31.0.2", 80, "skiff0"),
            nft.PortRule("udp", "127.0.0.1", 5353, "172.31.0.3", 53, "skiff0"),
        ],
        [nft.Forward("veth2", "172.31.0.3", "n1"), nft.Forward("veth1", "172.31.0.2", "n1")],
    )
    golden = GOLDEN / "skiff.nft"
    if os.environ.get("SKIFF_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def _query(name: str, qtype: int = dns.TYPE_A) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def test_dns_question_and_answer() -> None:
    msg = _query("Web.Example")
    parsed = dns.parse_question(msg)
    assert parsed is not None
    qid, name, qtype, end = parsed
    assert (qid, name, qtype, end) == (0x1234, "web.example", dns.TYPE_A, len(msg))
    reply = dns.answer(msg, end, ["10.0.0.5"])
    assert struct.unpack("!HHHH", reply[:8]) == (0x1234, 0x8180, 1, 1)
    assert reply.endswith(bytes([10, 0, 0, 5]))


def test_dns_rejects_truncated_messages() -> None:
    assert dns.parse_question(b"\x00" * 5) is None
    assert dns.parse_question(_query("a")[:-3]) is None
