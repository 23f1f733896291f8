"""The first numbers out: pageviews, visitors, sessions and top pages of one app since a time."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.store.base import Store


@dataclass(frozen=True)
class Summary:
    pageviews: int
    visitors: int
    sessions: int
    events: int
    top_pages: list[tuple[str, int]]


def summary(store: Store, app_id: str, since_ms: int, until_ms: int, top: int = 10) -> Summary:
    where = "app_id = ? AND ts >= make_timestamp(? * 1000) AND ts < make_timestamp(? * 1000) AND coalesce(bot, '') = ''"
    params = [app_id, since_ms, until_ms]
    row = store.fetch(
        "SELECT count(*) FILTER (WHERE event = 'pageview'), count(DISTINCT visitor_id), "  # noqa: S608
        f"count(DISTINCT session_id), count(*) FILTER (WHERE event <> 'pageview') FROM events WHERE {where}",
        params,
    )[0]
    pages = store.fetch(
        f"SELECT path, count(*) AS n FROM events WHERE {where} AND event = 'pageview' "  # noqa: S608
        "GROUP BY path ORDER BY n DESC, path LIMIT ?",
        [*params, top],
    )
    return Summary(
        pageviews=int(row[0] or 0),
        visitors=int(row[1] or 0),
        sessions=int(row[2] or 0),
        events=int(row[3] or 0),
        top_pages=[(p or "(none)", int(n)) for p, n in pages],
    )
