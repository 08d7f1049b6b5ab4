"""A tiny MaxMind DB (MMDB v2) writer, enough to build test databases that the official
``maxminddb`` reader opens: an IPv4 search tree with 24-bit records, and a data section
of maps, arrays, UTF-8 strings and unsigned integers
(https://maxmind.github.io/MaxMind-DB/)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

__all__ = ["U16", "U32", "U64", "write_mmdb"]

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_: int, size: int) -> bytes:
    """Control byte(s): 3 type bits (0 = extended), 5 size bits."""
    assert size < 29, "sizes of 29 and more are not needed here"
    if type_ <= 7:
        return bytes([(type_ << 5) | size])
    return bytes([size, type_ - 7])


class U16(int):
    """An int stored as uint16."""


class U32(int):
    """An int stored as uint32."""


class U64(int):
    """An int stored as uint64."""


_UINT_TYPES = {U16: 5, U32: 6, U64: 9}


def encode(value: Any) -> bytes:
    """One data-section value (a plain int takes the smallest unsigned type)."""
    if type(value) in _UINT_TYPES:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        return _control(_UINT_TYPES[type(value)], len(raw)) + raw
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, int):
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        type_ = 5 if value < 1 << 16 else 6 if value < 1 << 32 else 9
        return _control(type_, len(raw)) + raw
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, dict):
        out = _control(7, len(value))
        for k, v in value.items():
            out += encode(str(k)) + encode(v)
        return out
    if isinstance(value, list):
        out = _control(11, len(value))
        for v in value:
            out += encode(v)
        return out
    raise TypeError(type(value))


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], db_type: str = "Test-City") -> Path:
    """Write an IPv4 database mapping each CIDR network in ``networks`` to its record."""
    data = b""
    offsets: list[tuple[int, int, int]] = []  # (network int, prefix length, data offset)
    for cidr, record in networks.items():
        net = ipaddress.IPv4Network(cidr)
        offsets.append((int(net.network_address), net.prefixlen, len(data)))
        data += encode(record)
    # The trie: node -> [left, right]; a child is a node index, ("data", offset) or None.
    nodes: list[list[Any]] = [[None, None]]
    for addr, plen, off in offsets:
        node = 0
        for depth in range(plen):
            bit = (addr >> (31 - depth)) & 1
            if depth == plen - 1:
                nodes[node][bit] = ("data", off)
                break
            child = nodes[node][bit]
            if not isinstance(child, int):
                nodes.append([None, None])
                child = nodes[node][bit] = len(nodes) - 1
            node = child
    count = len(nodes)
    tree = b""
    for left, right in nodes:
        for rec in (left, right):
            if rec is None:
                value = count  # no data
            elif isinstance(rec, int):
                value = rec
            else:
                value = count + 16 + rec[1]
            tree += value.to_bytes(3, "big")
    metadata = {
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_700_000_000),
        "database_type": db_type,
        "description": {"en": "eventkit test database"},
        "ip_version": U16(4),
        "languages": ["en"],
        "node_count": U32(count),
        "record_size": U16(24),
    }
    path.write_bytes(tree + b"\x00" * 16 + data + METADATA_MARKER + encode(metadata))
    return path
