"""Referrer → referrer host, source name and medium.

Mediums: ``search``, ``social``, ``ai`` (assistants such as ChatGPT or Perplexity, not search),
``email``, ``referral`` (any other site, named when the table knows it), ``direct`` (no referrer)
and ``internal`` (a page of the same site). The table of known hosts is data shipped in the package,
``footfall/data/referrers.json``, grouped by medium and then source name.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import NamedTuple
from urllib.parse import urlsplit

from footfall.model import App, Context, Hit

MEDIUMS = ("search", "social", "ai", "email", "referral", "direct", "internal")
_MAX_COUNTRY_LABEL = 3  # "co", "uk", "com", "de": what may follow a "name.*" entry


class Source(NamedTuple):
    name: str
    medium: str


class RefererInfo(NamedTuple):
    host: str | None
    source: str | None
    medium: str


class ReferrerTable:
    """Known hosts → Source. ``exact`` holds hosts (matching their subdomains too), ``brands`` the
    ``name.*`` entries that match under any country domain."""

    def __init__(self, data: dict[str, object]) -> None:
        self.exact: dict[str, Source] = {}
        self.brands: dict[str, Source] = {}
        for medium, sources in data.items():
            if medium == "about":
                continue
            if medium not in MEDIUMS or not isinstance(sources, dict):
                raise ValueError(f"referrer table: unknown medium {medium!r}")
            for name, hosts in sources.items():
                for host in hosts:
                    target = self.brands if host.endswith(".*") else self.exact
                    key = host.removesuffix(".*").lower()
                    if key in target:
                        raise ValueError(f"referrer table: {host!r} is listed twice")
                    target[key] = Source(name, medium)

    @classmethod
    def builtin(cls) -> ReferrerTable:
        text = resources.files("footfall").joinpath("data/referrers.json").read_text("utf-8")
        return cls(json.loads(text))

    def find(self, host: str) -> Source | None:
        """The most specific entry for ``host`` (itself, then each parent domain, then brands)."""
        labels = host.split(".")
        for i in range(len(labels) - 1):
            found = self.exact.get(".".join(labels[i:]))
            if found is not None:
                return found
        for i, label in enumerate(labels[:-1]):
            found = self.brands.get(label)
            rest = labels[i + 1 :]
            if (
                found is not None
                and len(rest) <= 2
                and all(len(x) <= _MAX_COUNTRY_LABEL for x in rest)
            ):
                return found
        return None


def bare_host(host: str | None) -> str:
    host = (host or "").lower()
    return host[4:] if host.startswith("www.") else host


class ReferrerClassifier:
    """``classify(referrer)`` → RefererInfo without the internal check (that needs the page).
    Cached per string: pass :meth:`host_part` of a referrer to keep the cache small."""

    def __init__(self, table: ReferrerTable | None = None, cache_size: int = 65_536) -> None:
        self.table = table or ReferrerTable.builtin()
        self.classify = (
            functools.lru_cache(maxsize=cache_size)(self._classify)
            if cache_size
            else self._classify
        )

    def host_part(self, referrer: str) -> str:
        """``scheme://host[:port]`` of a referrer: the cache key, so the cache grows with the number
        of referring hosts, not of referring pages."""
        start = referrer.find("//")
        if start < 0:
            return referrer[:300]
        end = len(referrer)
        for mark in ("/", "?", "#"):
            found = referrer.find(mark, start + 2)
            if 0 <= found < end:
                end = found
        return referrer[: min(end, 300)]

    def _classify(self, referrer: str) -> RefererInfo:
        try:
            host = urlsplit(referrer.strip()).hostname
        except ValueError:
            host = None
        if not host:
            return RefererInfo(None, None, "direct")
        host = bare_host(host.rstrip("."))[:253]
        source = self.table.find(host)
        if source is None:
            return RefererInfo(host, None, "referral")
        return RefererInfo(host, source.name, source.medium)


class ReferrerStep:
    """Fills referrer_host, source and medium. A referrer on the page's own host (or the app's) is
    ``internal``; no referrer is ``direct``."""

    def __init__(self, classifier: ReferrerClassifier) -> None:
        self.classifier = classifier
        self._app_hosts: dict[str, str] = {}  # app url -> its bare host (App.hostname parses)

    def _app_host(self, app: App) -> str:
        host = self._app_hosts.get(app.url)
        if host is None:
            if len(self._app_hosts) > 10_000:
                self._app_hosts.clear()
            host = self._app_hosts[app.url] = bare_host(app.hostname)
        return host

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        if not hit.referrer:
            hit.medium = "direct"
            return None
        classifier = self.classifier
        host, source, medium = classifier.classify(classifier.host_part(hit.referrer))
        hit.referrer_host = host
        if host is not None and (host == bare_host(hit.hostname) or host == self._app_host(app)):
            hit.source, hit.medium = None, "internal"
        else:
            hit.source, hit.medium = source, medium
        return None
