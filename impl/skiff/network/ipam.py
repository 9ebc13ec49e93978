"""Address management for a bridge network: the gateway and container addresses of one IPv4 subnet.

Pure: the allocations are a set the caller persists (dockerd keeps them in its store the same way)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from skiff import errdefs


@dataclass
class Pool:
    """One subnet, its gateway, an optional ``ip_range`` to allocate from, and the addresses in use."""

    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    ip_range: ipaddress.IPv4Network | None = None
    used: set[ipaddress.IPv4Address] = field(default_factory=set)

    @classmethod
    def parse(cls, subnet: str, gateway: str = "", ip_range: str = "") -> Pool:
        """libnetwork's checks and messages for an IPAM config entry (its errors are untyped: 500s)."""
        try:
            net = ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            raise errdefs.Unknown(f"Invalid subnet {subnet} : invalid CIDR address: {subnet}") from None
        if not isinstance(net, ipaddress.IPv4Network):
            raise errdefs.InvalidArgument(f"invalid subnet {subnet}: only IPv4 is supported by skiff")
        rng = None
        if ip_range:
            try:
                rng = ipaddress.IPv4Network(ip_range, strict=False)
            except ValueError:
                raise errdefs.Unknown(
                    f'failed to parse pool request for address space "LocalDefault" pool "{subnet}" '
                    f'subpool "{ip_range}": Invalid Address SubPool'
                ) from None
            if not rng.subnet_of(net):
                raise errdefs.InvalidArgument(f"ip-range {ip_range} is not in subnet {subnet}")
        if gateway:
            try:
                gw = ipaddress.IPv4Address(gateway)
            except ValueError:
                raise errdefs.Unknown(f"invalid gateway address {gateway} in Ipam configuration") from None
            if gw not in net:
                raise errdefs.Unknown(
                    f"failed to allocate gateway ({gateway}): Requested address is out of range"
                )
        else:
            gw = net.network_address + 1
        return cls(net, gw, rng)

    @property
    def prefixlen(self) -> int:
        return self.subnet.prefixlen

    def allocate(self, wanted: str = "") -> ipaddress.IPv4Address:
        """``wanted`` (a static ``IPAMConfig.IPv4Address``) or the lowest free address."""
        if wanted:
            addr = ipaddress.IPv4Address(wanted)
            if addr not in self.subnet:
                raise errdefs.InvalidArgument(
                    f"no available IPv4 addresses on this network's address pools: {wanted}"
                )
            if addr in self.used or addr == self.gateway:
                raise errdefs.Conflict("Address already in use")
            self.used.add(addr)
            return addr
        reserved = {self.gateway, self.subnet.network_address, self.subnet.broadcast_address}
        for addr in self.ip_range or self.subnet:
            if addr not in reserved and addr not in self.used:
                self.used.add(addr)
                return addr
        raise errdefs.Unavailable(
            f"no available IPv4 addresses on this network's address pools: {self.subnet}"
        )

    def release(self, addr: str | ipaddress.IPv4Address) -> None:
        self.used.discard(ipaddress.IPv4Address(addr))


def overlaps(subnet: str, others: Iterable[str]) -> bool:
    net = ipaddress.IPv4Network(subnet, strict=False)
    return any(net.overlaps(ipaddress.IPv4Network(o, strict=False)) for o in others)


# dockerd's default local pools (172.17-31.0.0/16, then 192.168.0-240.0/20), minus skiff0's own subnet
DEFAULT_POOLS: tuple[str, ...] = tuple(f"172.{n}.0.0/16" for n in range(18, 31)) + tuple(
    f"192.168.{n}.0/20" for n in range(0, 256, 16)
)


def pick_subnet(taken: Iterable[str]) -> str:
    """The first default pool that overlaps nothing in ``taken`` (routes on the host, other networks)."""
    taken = list(taken)
    for candidate in DEFAULT_POOLS:
        if not overlaps(candidate, taken):
            return candidate
    raise errdefs.Unavailable(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign "
        "to the network"
    )


def mac_for(addr: ipaddress.IPv4Address) -> str:
    """dockerd's generated MAC: 02:42 followed by the IPv4 address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)
