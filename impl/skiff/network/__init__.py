"""Container networking for skiffd: IPAM, bridges and veths (netlink via pyroute2), nftables NAT, netns."""
