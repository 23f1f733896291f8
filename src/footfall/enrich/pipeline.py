"""The enrichment pipeline: steps in order, each ``(hit, ctx, app) -> drop reason | None``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from footfall.enrich.ipaddr import AnonymizeIP
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

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.steps]

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        for step in self.steps:
            reason = step.run(hit, ctx, app)
            if reason is not None:
                return reason
        return None


def default_steps(config: Config) -> list[Step]:
    """The standard pipeline, in order."""
    return [
        Step("anonymize-ip", AnonymizeIP(store_full_ip=config.store_full_ip)),
    ]
