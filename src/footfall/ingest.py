"""The path of one hit after its endpoint parsed it: app → enrich → identify → buffer.

Enrichment runs first so excluded and Do-Not-Track hits are dropped (or anonymised) before any
visitor or session is made for them; identity still sees the full client address in the context.

Endpoints build a :class:`Hit` and a :class:`Context`, call :meth:`Ingest.process`, and answer at once
with the outcome once the hit is in the spool; storage happens later, in the buffer's writer.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import NamedTuple

from footfall.apps import AppRegistry
from footfall.buffer import HitBuffer
from footfall.clock import Clock
from footfall.enrich.pipeline import Enricher
from footfall.identify.identifier import Identifier
from footfall.model import App, Context, Hit, new_hit_id, parse_uuid


class Outcome(NamedTuple):
    reason: str | None  # None: taken for storage; else why it was ignored
    cookies: list[str]  # Set-Cookie values to send


IGNORED_MISSING_APP = Outcome("missing-app", [])
IGNORED_INVALID_APP = Outcome("invalid-app", [])
IGNORED_UNKNOWN_APP = Outcome("unknown-app", [])
MAX_APP_NAMES = 10  # entries of a comma-separated app list that are looked up


class Counters:
    """Accepted hits and ignored hits per reason, for /-/metrics."""

    def __init__(self) -> None:
        self.accepted = 0
        self.ignored: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, reason: str | None) -> None:
        with self._lock:
            if reason is None:
                self.accepted += 1
            else:
                self.ignored[reason] += 1


class Ingest:
    def __init__(
        self,
        *,
        clock: Clock,
        apps: AppRegistry,
        identifier: Identifier,
        enricher: Enricher,
        buffer: HitBuffer,
        counters: Counters | None = None,
    ) -> None:
        self.clock = clock
        self.apps = apps
        self.identifier = identifier
        self.enricher = enricher
        self.buffer = buffer
        self.counters = counters or Counters()

    def app_by_name(self, name: str) -> App | None:
        """The app an ``app`` value other than a UUID names: an alias (a tracking id such as
        ``UA-…``/``G-…``, or any name given with ``footfall apps alias``), else a site's domain as
        Plausible's ``data-domain`` gives it (case and a leading ``www.`` ignored). A
        comma-separated list names the first app any of its first ``MAX_APP_NAMES`` entries
        names."""
        app = self.apps.by_alias(name)
        if app is None:
            for part in name.split(",")[:MAX_APP_NAMES]:
                app = self.apps.by_site(part)  # a site's domain, else an alias
                if app is not None:
                    break
        return app

    def ignore(self, reason: str) -> Outcome:
        self.counters.count(reason)
        return Outcome(reason, [])

    def process(self, hit: Hit, ctx: Context) -> Outcome:
        outcome = self._process(hit, ctx)
        self.counters.count(outcome.reason)
        return outcome

    def _process(self, hit: Hit, ctx: Context) -> Outcome:
        raw_app = hit.app_id
        if not raw_app:
            return IGNORED_MISSING_APP
        app_id = parse_uuid(raw_app)
        if app_id is None:
            app = self.app_by_name(raw_app)
            if app is None:
                return IGNORED_INVALID_APP
        else:  # an app's id, else an alias that is a UUID (an Umami website id)
            app = self.apps.get(app_id) or self.apps.by_alias(raw_app)
            if app is None:
                return IGNORED_UNKNOWN_APP
        hit.app_id = app.id
        if not hit.ts:
            hit.ts = self.clock.now_ms()
        if hit.hit_id is None:
            hit.hit_id = new_hit_id()
        if hit.user_agent is None and ctx.user_agent:
            hit.user_agent = ctx.user_agent[:512]
        if not hit.hostname:
            hit.hostname = app.hostname or None

        reason = self.enricher(hit, ctx, app)
        if reason is not None:
            return Outcome(reason, [])
        cookies: list[str] = []
        if hit.visitor_id is None and hit.identity != "none":
            cookies = self.identifier.identify(hit, ctx, app, self.clock.now_ms())
        elif hit.identity is None:  # a channel that brought its own visitor id
            hit.identity = "client-id"
        refused = self.buffer.add(hit)
        if refused is not None:
            return Outcome(refused, [])
        return Outcome(None, cookies)
