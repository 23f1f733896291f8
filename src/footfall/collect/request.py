"""Turning an ASGI scope into the facts the pipeline needs: client address, HTTPS, cookies, headers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from footfall.model import Context

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    nets: list[IPNetwork] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part:
                nets.append(ipaddress.ip_network(part, strict=False))
    return tuple(nets)


def _in(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(addr in net for net in networks)


def parse_cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            cookies[name.strip()] = value.strip().strip('"')
    return cookies


def add_header(headers: dict[str, str], name: str, value: str) -> None:
    """Add one header (``name`` lower-case) as every collection path does: a repeat is joined to the
    first with ', ', cookies with '; ' (footfall._speedups.parse_head does the same in C)."""
    if name in headers:
        headers[name] += ("; " if name == "cookie" else ", ") + value
    else:
        headers[name] = value


def scope_headers(scope: dict[str, Any]) -> dict[str, str]:
    """Request headers by lower-case name (repeats joined by ``add_header``)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        add_header(headers, raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
    return headers


class ClientResolver:
    """Finds the real client address and scheme, believing forwarding headers only from trusted proxies."""

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self.trusted = parse_networks(trusted_proxies)

    def context(self, scope: dict[str, Any], headers: dict[str, str]) -> Context:
        client = scope.get("client")
        return self.resolve(client[0] if client else "", scope.get("scheme") == "https", headers)

    def resolve(self, peer: str, secure: bool, headers: dict[str, str]) -> Context:
        """The context of a request from ``peer`` (its socket address) with these headers."""
        ip = peer
        if self.trusted and peer and _in(peer, self.trusted):
            forwarded = headers.get("x-forwarded-for", "")
            hops = [h.strip() for h in forwarded.split(",") if h.strip()]
            while hops:
                hop = hops.pop()
                ip = hop
                if not _in(hop, self.trusted):
                    break
            proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            if proto:
                secure = proto == "https"
        return Context(
            ip=ip,
            user_agent=headers.get("user-agent", ""),
            secure=secure,
            cookies=parse_cookies(headers.get("cookie", "")),
            headers=headers,
        )
