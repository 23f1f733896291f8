"""Time on page in the query engine, as Plausible's legacy time on page from hits.

The time from a hit to its session's next hit, summed per page, over the number of times the next
hit was on another page (footfall keeps no engagement events). Answered per page (an ``event:page``
breakdown or dimension) or for the pages of ``event:page`` filters, never per time bucket; always
from the raw hits (``footfall.query.sql_grouped.GroupedBuilder.time_on_page``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from footfall.query.periods import Window
from footfall.query.spec import PROPS_PREFIX, Dim, QueryError, QuerySpec
from footfall.query.sql import Scope

if TYPE_CHECKING:
    from footfall.query.engine import QueryEngine


class TimeOnPage:
    """The engine's time on page (``QueryEngine.page_times``)."""

    def __init__(self, engine: QueryEngine) -> None:
        self.engine = engine

    def check(self, q: QuerySpec, wanted: Sequence[str], dim: Dim | None) -> None:
        """QueryError when ``time_on_page`` is asked where it has no answer (``dim``: the
        breakdown's dimension, if any)."""
        if "time_on_page" not in wanted:
            return
        if dim is not None and dim.name != "event:page":
            raise QueryError("metrics", "time_on_page is answered per page (event:page) only")
        if dim is None and not any(f.dimension == "event:page" for f in q.filters):
            raise QueryError("metrics", "time_on_page needs an event:page filter or dimension")

    def seconds(self, q: QuerySpec, w: Window, by_page: bool) -> dict[Any, int | None]:
        """Seconds on a page (per page, or None for the pages of the event:page filters), as
        Plausible's time on page from hits: the time from a hit to the session's next one,
        summed, over the number of times the next hit was on another page (None when it never
        was). The event:page filters pick the pages timed, not the hits (custom property
        filters are left out per page)."""
        pages = tuple(f for f in q.filters if f.dimension == "event:page")
        others = tuple(
            f
            for f in q.filters
            if f.dimension != "event:page"
            and not (by_page and f.dimension.startswith(PROPS_PREFIX))
        )
        engine = self.engine
        route = engine._route(q, w, None, ["time_on_page"])
        scope = Scope(q.app.id, w, others, q.include_bots, sessions_table=route.sessions_table)
        out: dict[Any, int | None] = {}
        sql = engine.sql.time_on_page(scope, pages, by_page)
        for key, seconds, transitions in engine._run(sql):
            out[key] = round(float(seconds) / int(transitions)) if transitions else None
        return out
