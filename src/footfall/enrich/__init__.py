"""Enrich: an ordered, visible list of named steps run on every hit before it is buffered.

A step fills columns of the hit and may drop it by returning a reason (a short kebab-case name),
which the endpoint reports in ``X-Footfall-Ignored`` and the counters count.
"""

from footfall.enrich.pipeline import Enricher, Step, default_steps

__all__ = ["Enricher", "Step", "default_steps"]
