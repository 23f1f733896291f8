"""A minimal writer of MaxMind DB files (format 2.0, IPv4 tree, 24-bit records) so tests can build
a real city database for a few networks and read it back with the real ``maxminddb`` reader."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

_META_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, bytes([size - 29])
    else:
        head, extra = 30, struct.pack(">H", size - 285)
    if type_ <= 7:
        return bytes([(type_ << 5) | head]) + extra
    return bytes([head, type_ - 7]) + extra


class U32(int):
    """An integer the format wants as uint32 (libmaxminddb checks metadata types)."""


class U64(int):
    """An integer the format wants as uint64."""


def encode(value: Any) -> bytes:
    if isinstance(value, U32 | U64):
        raw = int(value).to_bytes((value.bit_length() + 7) // 8, "big")
        return _control(6 if isinstance(value, U32) else 9, len(raw)) + raw
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, int):
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        type_ = 5 if value < 1 << 16 else 6 if value < 1 << 32 else 9
        return _control(type_, len(raw)) + raw
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(type(value))


def write_city_db(path: Path, networks: dict[str, dict[str, Any]]) -> Path:
    """Write ``{"CIDR": record}`` as an IPv4 MaxMind DB of type GeoLite2-City at ``path``."""
    data = b""
    offsets: list[int] = []
    nodes: list[list[Any]] = [[None, None]]  # child: ("node", i) | ("data", offset) | None
    for cidr, record in networks.items():
        net = ipaddress.ip_network(cidr)
        offsets.append(len(data))
        data += encode(record)
        bits = int(net.network_address)
        node = 0
        for depth in range(net.prefixlen):
            bit = (bits >> (31 - depth)) & 1
            if depth == net.prefixlen - 1:
                nodes[node][bit] = ("data", offsets[-1])
            else:
                child = nodes[node][bit]
                if child is None or child[0] != "node":
                    nodes.append([None, None])
                    child = ("node", len(nodes) - 1)
                    nodes[node][bit] = child
                node = child[1]
    count = len(nodes)

    def record_value(child: Any) -> int:
        if child is None:
            return count
        kind, value = child
        return value if kind == "node" else count + 16 + value

    tree = b"".join(
        record_value(left).to_bytes(3, "big") + record_value(right).to_bytes(3, "big")
        for left, right in nodes
    )
    metadata = {
        "binary_format_major_version": 2,
        "binary_format_minor_version": 0,
        "build_epoch": U64(1_767_225_600),
        "database_type": "GeoLite2-City",
        "description": {"en": "footfall test database"},
        "ip_version": 4,
        "languages": ["en"],
        "node_count": U32(count),
        "record_size": 24,
    }
    path.write_bytes(tree + b"\x00" * 16 + data + _META_MARKER + encode(metadata))
    return path


def city_record(country: str, region: str, city: str) -> dict[str, Any]:
    return {
        "city": {"names": {"en": city}},
        "country": {"iso_code": country, "names": {"en": country}},
        "subdivisions": [{"iso_code": "X", "names": {"en": region}}],
    }
