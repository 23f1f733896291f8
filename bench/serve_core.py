"""`footfall serve` with only the core enrichment step (anonymize-ip), for bench/enrich.py --ingest.

Reads the same FOOTFALL_* environment as `footfall serve`; never used outside the benchmark.
"""

from __future__ import annotations

import footfall.runtime
from footfall.cli import main
from footfall.enrich.ipaddr import AnonymizeIP
from footfall.enrich.pipeline import Step
from footfall.settings import Config


def core_steps(config: Config, **_: object) -> list[Step]:
    return [Step("anonymize-ip", AnonymizeIP(store_full_ip=config.store_full_ip))]


footfall.runtime.default_steps = core_steps  # type: ignore[assignment]

if __name__ == "__main__":
    main(["serve"])
