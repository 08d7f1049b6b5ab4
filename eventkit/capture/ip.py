"""Client IP handling. The default keeps only the network: IPv4 /24, IPv6 /48."""

from __future__ import annotations

import ipaddress

__all__ = ["anonymize_ip"]


def anonymize_ip(ip: str | None) -> str | None:
    """Zero the host part of an address (IPv4 /24, IPv6 /48); None if unparseable."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False).network_address)
