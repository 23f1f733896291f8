"""Client address handling: truncation before storage."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from footfall.model import App, Context, Hit


@lru_cache(maxsize=65_536)
def truncate_ip(value: str) -> str | None:
    """Zero the last IPv4 octet or the last 80 IPv6 bits; None for something that is not an address."""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if isinstance(addr, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(addr) & ~((1 << 80) - 1)))


class AnonymizeIP:
    """Stores the client address truncated, or whole when the server or the app says so; none at all
    for a hit kept anonymously under Do-Not-Track / Global Privacy Control."""

    def __init__(self, store_full_ip: bool = False) -> None:
        self.store_full_ip = store_full_ip

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        full = app.store_full_ip if app.store_full_ip is not None else self.store_full_ip
        if not ctx.ip or hit.identity == "none":  # no address kept for a Do-Not-Track hit
            hit.ip = None
        elif full:
            hit.ip = ctx.ip if truncate_ip(ctx.ip) is not None else None
        else:
            hit.ip = truncate_ip(ctx.ip)
        return None
