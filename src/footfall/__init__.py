"""footfall: self-hosted web analytics.

Data flows one way: collect → identify → enrich → buffer → store → query → present.
"""

__version__ = "0.1.0"
