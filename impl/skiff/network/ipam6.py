"""IPv6 address management for a bridge network with ``EnableIPv6``: one IPv6 subnet, its gateway (the
first address unless given) and the addresses in use; allocation from the lowest free address, as dockerd's
default IPAM does. Pure, like ``ipam.Pool``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from skiff import errdefs


@dataclass
class Pool6:
    subnet: ipaddress.IPv6Network
    gateway: ipaddress.IPv6Address
    used: set[ipaddress.IPv6Address] = field(default_factory=set)

    @classmethod
    def parse(cls, subnet: str, gateway: str = "") -> Pool6:
        try:
            net = ipaddress.IPv6Network(subnet, strict=False)
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid CIDR address: {subnet}") from None
        if gateway:
            try:
                gw = ipaddress.IPv6Address(gateway)
            except ValueError:
                raise errdefs.InvalidArgument(f"invalid gateway address {gateway}") from None
            if gw not in net:
                raise errdefs.InvalidArgument(f"no matching subnet for gateway {gateway}")
        else:
            gw = net.network_address + 1
        return cls(net, gw)

    @property
    def prefixlen(self) -> int:
        return self.subnet.prefixlen

    def allocate(self, wanted: str = "") -> ipaddress.IPv6Address:
        """``wanted`` (a static ``IPAMConfig.IPv6Address``) or the lowest free address."""
        if wanted:
            addr = ipaddress.IPv6Address(wanted)
            if addr not in self.subnet:
                raise errdefs.InvalidArgument(
                    f"no available IPv6 addresses on this network's address pools: {wanted}"
                )
            if addr in self.used or addr == self.gateway:
                raise errdefs.Conflict("Address already in use")
            self.used.add(addr)
            return addr
        addr = self.subnet.network_address + 1
        last = self.subnet.broadcast_address
        while addr <= last:
            if addr != self.gateway and addr not in self.used:
                self.used.add(addr)
                return addr
            addr += 1
        raise errdefs.Unavailable("no available IPv6 addresses on this network's address pools")

    def release(self, addr: str | ipaddress.IPv6Address) -> None:
        self.used.discard(ipaddress.IPv6Address(addr))
