"""Client IP handling. The default keeps only the network: IPv4 /24, IPv6 /48."""

from __future__ import annotations

import ipaddress

__all__ = ["anonymize_ip"]


def anonymize_ip(ip: str | None) -> str | None:
    """Zero the host part of an address (IPv4 /24, IPv6 /48); None if unparseable."""
    if not ip:
        return None
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        return f"{int(parts[0])}.{int(parts[1])}.{int(parts[2])}.0"  # the common case, fast
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False).network_address)
