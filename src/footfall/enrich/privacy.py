"""Per-app privacy controls, the first enrichment step so ignored hits cost as little as possible.

- ``excluded-ip``: the client address is in one of the app's ``exclude_ips`` ranges;
- ``excluded-path``: the page path matches one of the app's ``exclude_paths`` globs;
- ``DNT: 1`` or ``Sec-GPC: 1`` with ``respect_dnt`` on: with ``dnt_action`` ``drop`` the hit is ignored
  (``dnt``); with ``anonymous`` it is kept without visitor or session id and without an address
  (``identity`` = ``none``).

Path globs as in ``footfall.globs``: ``/admin/**`` matches ``/admin`` and everything below it.
"""

from __future__ import annotations

import ipaddress
import re

from footfall.globs import glob_to_regex
from footfall.model import App, Context, Hit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def compile_globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{glob_to_regex(p)})" for p in patterns))


def parse_ranges(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    nets: list[IPNetwork] = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            continue  # `apps set` validates; a hand-edited bad entry excludes nothing
    return tuple(nets)


def wants_no_tracking(headers: dict[str, str]) -> bool:
    return headers.get("sec-gpc", "").strip() == "1" or headers.get("dnt", "").strip() == "1"


class PrivacyStep:
    """Applies the app's exclusions and its Do-Not-Track / Global Privacy Control choice."""

    def __init__(self) -> None:
        self._globs: dict[tuple[str, ...], re.Pattern[str]] = {}
        self._ranges: dict[tuple[str, ...], tuple[IPNetwork, ...]] = {}

    def _excluded_ip(self, ip: str, ranges: list[str]) -> bool:
        key = tuple(ranges)
        nets = self._ranges.get(key)
        if nets is None:
            nets = self._ranges[key] = parse_ranges(key)
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in nets)

    def _excluded_path(self, path: str, globs: list[str]) -> bool:
        key = tuple(globs)
        pattern = self._globs.get(key)
        if pattern is None:
            pattern = self._globs[key] = compile_globs(key)
        return pattern.fullmatch(path) is not None

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        if app.exclude_ips and ctx.ip and self._excluded_ip(ctx.ip, app.exclude_ips):
            return "excluded-ip"
        if app.exclude_paths and hit.path and self._excluded_path(hit.path, app.exclude_paths):
            return "excluded-path"
        if app.respect_dnt and wants_no_tracking(ctx.headers):
            if app.dnt_action == "drop":
                return "dnt"
            hit.visitor_id = None
            hit.session_id = None
            hit.identity = "none"
        return None
