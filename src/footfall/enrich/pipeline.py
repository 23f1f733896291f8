"""The enrichment pipeline: steps in order, each ``(hit, ctx, app) -> drop reason | None``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from footfall.enrich.bots import BotDetector, BotStep
from footfall.enrich.campaign import CampaignStep
from footfall.enrich.geo import CityDatabase, GeoStep
from footfall.enrich.ipaddr import AnonymizeIP
from footfall.enrich.privacy import PrivacyStep
from footfall.enrich.referrer import ReferrerClassifier, ReferrerStep
from footfall.enrich.useragent import UserAgentParser, UserAgentStep
from footfall.model import App, Context, Hit
from footfall.settings import Config

StepFn = Callable[[Hit, Context, App], str | None]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: StepFn


class Enricher:
    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)
        self._runs = tuple(step.run for step in self.steps)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.steps]

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        for run in self._runs:
            reason = run(hit, ctx, app)
            if reason is not None:
                return reason
        return None


def default_steps(config: Config, *, cache_size: int = 65_536) -> list[Step]:
    """The standard pipeline, in order. ``privacy`` comes first so excluded hits cost little;
    ``anonymize-ip`` comes last: the steps before it (and cookieless identity) see the full address
    in the request context, the stored hit gets it truncated. ``cache_size`` 0 turns the per-user-agent
    and per-referrer caches off (for the benchmark)."""
    parser = UserAgentParser(cache_size=cache_size)
    city_db = CityDatabase(config.geoip_db) if config.geoip_db else None
    return [
        Step("privacy", PrivacyStep()),
        Step("user-agent", UserAgentStep(parser)),
        Step("bots", BotStep(BotDetector(parser, cache_size=cache_size))),
        Step("geo", GeoStep(city_db)),
        Step("referrer", ReferrerStep(ReferrerClassifier(cache_size=cache_size))),
        Step("campaign", CampaignStep()),
        Step("anonymize-ip", AnonymizeIP(store_full_ip=config.store_full_ip)),
    ]
