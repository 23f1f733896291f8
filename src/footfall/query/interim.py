"""A stand-in for the query layer (issue 6) with the same interface, so the dashboard can be built
before it lands. Deleted when the query branch is merged; keep it small and boring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from footfall.clock import Clock
from footfall.model import App
from footfall.store.base import Store

METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "events",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "conversion_rate",
)
_COLUMNS = {
    "event:page": "path",
    "event:name": "event",
    "event:title": "title",
    "event:hostname": "hostname",
    "visit:source": "source",
    "visit:referrer": "referrer_host",
    "visit:utm_source": "utm_source",
    "visit:utm_medium": "utm_medium",
    "visit:utm_campaign": "utm_campaign",
    "visit:country": "country",
    "visit:region": "region",
    "visit:city": "city",
    "visit:browser": "browser",
    "visit:os": "os",
    "visit:device": "device",
    "visit:language": "language",
    "visit:screen": "screen",
    "visit:pixel_ratio": "CAST(pixel_ratio AS VARCHAR)",
    "bot:name": "bot",
}
DIMENSIONS = {name: name.split(":")[-1] for name in _COLUMNS} | {
    "visit:entry_page": "entry_page",
    "visit:exit_page": "exit_page",
    "bot:name": "bot",
}


class QueryError(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Filter:
    dimension: str
    op: Literal["==", "!=", "~", "!~"]
    value: str


@dataclass(frozen=True)
class QuerySpec:
    app: App
    period: str = "30d"
    date: str | None = None
    filters: tuple[Filter, ...] = ()
    include_bots: bool = False


def parse_filters(text: str) -> tuple[Filter, ...]:
    out: list[Filter] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        for op in ("!=", "==", "!~", "~"):
            dim, sep, value = part.partition(op)
            if sep:
                break
        else:
            raise QueryError("filters", f"no operator in filter {part!r}")
        dim = dim.strip()
        if dim not in _COLUMNS and not dim.startswith("event:props:"):
            raise QueryError("filters", f"unknown filter dimension {dim!r}")
        out.append(Filter(dim, op, value))
    return tuple(out)


def _column(dimension: str, params: list[Any]) -> str:
    if dimension.startswith("event:props:"):
        params.append(dimension.removeprefix("event:props:"))
        return "props[?]"
    try:
        return _COLUMNS[dimension]
    except KeyError:
        raise QueryError("property", f"unknown dimension {dimension!r}") from None


class QueryEngine:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # -- periods -----------------------------------------------------------------------------
    def _days(self, q: QuerySpec) -> tuple[date, date]:
        tz = ZoneInfo(q.app.timezone)
        today = datetime.fromtimestamp(self.clock.now_ms() / 1000, tz).date()
        if q.period == "custom":
            try:
                a, b = (date.fromisoformat(x) for x in (q.date or "").split(","))
            except ValueError:
                raise QueryError("date", "custom needs date=YYYY-MM-DD,YYYY-MM-DD") from None
            return a, b
        end = date.fromisoformat(q.date) if q.date else today
        if q.period == "day":
            return end, end
        if q.period in ("7d", "30d"):
            return end - timedelta(days=int(q.period[:-1]) - 1), end
        if q.period == "month":
            first = end.replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            return first, nxt - timedelta(days=1)
        if q.period in ("6mo", "12mo"):
            months = int(q.period[:-2])
            first = end.replace(day=1)
            for _ in range(months - 1):
                first = (first - timedelta(days=1)).replace(day=1)
            return first, end
        raise QueryError("period", f"unknown period {q.period!r}")

    def _range(self, q: QuerySpec, shift: int = 0) -> tuple[int, int]:
        if q.period == "realtime":
            now = self.clock.now_ms()
            return now - 30 * 60_000, now + 1
        a, b = self._days(q)
        if shift:
            span = (b - a).days + 1
            a, b = a - timedelta(days=span * shift), b - timedelta(days=span * shift)
        tz = ZoneInfo(q.app.timezone)
        start = datetime(a.year, a.month, a.day, tzinfo=tz)
        end = datetime(b.year, b.month, b.day, tzinfo=tz) + timedelta(days=1)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)

    def _where(self, q: QuerySpec, shift: int = 0) -> tuple[str, list[Any]]:
        start, end = self._range(q, shift)
        sql = ["app_id = ?", "ts >= make_timestamp(? * 1000)", "ts < make_timestamp(? * 1000)"]
        params: list[Any] = [q.app.id, start, end]
        if not q.include_bots:
            sql.append("coalesce(bot, '') = ''")
        for f in q.filters:
            if f.dimension in ("visit:entry_page", "visit:exit_page"):
                continue
            col = _column(f.dimension, params)
            alts = f.value.split("|")
            if f.op in ("==", "!="):
                test = " OR ".join(f"{col} LIKE ?" for _ in alts)
                params += [a.replace("%", "\\%").replace("**", "*").replace("*", "%") for a in alts]
            else:
                test = " OR ".join(f"contains({col}, ?)" for _ in alts)
                params += alts
            sql.append(f"({'NOT ' if f.op.startswith('!') else ''}coalesce({test}, false))")
        return " AND ".join(sql), params

    def _metrics(self, where: str, params: list[Any]) -> dict[str, Any]:
        row = self.store.fetch(
            "WITH s AS (SELECT session_id, count(*) FILTER (WHERE event = 'pageview') AS pv,"  # noqa: S608
            " epoch(max(ts) - min(ts)) AS dur FROM events"
            f" WHERE {where} GROUP BY session_id)"
            " SELECT (SELECT count(DISTINCT visitor_id) FROM events"
            f" WHERE {where}), count(*), sum(pv), avg(CASE WHEN pv <= 1 THEN 100 ELSE 0 END), avg(dur),"
            f" (SELECT count(*) FROM events WHERE {where}) FROM s",
            params * 3,
        )[0]
        visits, pageviews = int(row[1] or 0), int(row[2] or 0)
        return {
            "visitors": int(row[0] or 0),
            "visits": visits,
            "pageviews": pageviews,
            "events": int(row[5] or 0),
            "views_per_visit": round(pageviews / visits, 2) if visits else 0,
            "bounce_rate": round(row[3] or 0),
            "visit_duration": round(row[4] or 0),
            "conversion_rate": None,
        }

    def aggregate(
        self, q: QuerySpec, metrics: Sequence[str], compare: bool = False
    ) -> dict[str, dict[str, float | int | None]]:
        now = self._metrics(*self._where(q))
        before = self._metrics(*self._where(q, shift=1)) if compare else {}
        out: dict[str, dict[str, float | int | None]] = {}
        for m in metrics:
            entry: dict[str, float | int | None] = {"value": now[m]}
            if compare:
                old = before[m]
                entry["change"] = round((now[m] - old) * 100 / old) if old else None
            out[m] = entry
        return out

    def timeseries(
        self, q: QuerySpec, metrics: Sequence[str], interval: str | None = None
    ) -> list[dict[str, object]]:
        where, params = self._where(q)
        hourly = q.period in ("day", "realtime") if interval is None else interval == "hour"
        unit = "hour" if hourly else "day"
        rows = self.store.fetch(
            f"SELECT date_trunc('{unit}', timezone(?, timezone('UTC', ts))) AS b,"  # noqa: S608
            " count(DISTINCT visitor_id), count(*) FILTER (WHERE event = 'pageview')"
            f" FROM events WHERE {where} GROUP BY b",
            [q.app.timezone, *params],
        )
        fmt = "%Y-%m-%d %H:00:00" if hourly else "%Y-%m-%d"
        found = {r[0].strftime(fmt): (int(r[1]), int(r[2])) for r in rows}
        start, end = self._range(q)
        tz = ZoneInfo(q.app.timezone)
        t = datetime.fromtimestamp(start / 1000, tz)
        stop = datetime.fromtimestamp(end / 1000, tz)
        out: list[dict[str, object]] = []
        while t < stop:
            key = t.strftime(fmt)
            v, p = found.get(key, (0, 0))
            out.append({"date": key, "visitors": v, "pageviews": p})
            t += timedelta(hours=1) if hourly else timedelta(days=1)
        return out

    def breakdown(
        self, q: QuerySpec, dimension: str, metrics: Sequence[str], limit: int = 10, page: int = 1
    ) -> list[dict[str, object]]:
        where, params = self._where(q)
        short = DIMENSIONS.get(dimension) or dimension.removeprefix("event:props:")
        if dimension in ("visit:entry_page", "visit:exit_page"):
            pick = "arg_min" if dimension == "visit:entry_page" else "arg_max"
            sql = (
                f"SELECT {pick}(path, ts) AS k, count(DISTINCT visitor_id) AS v, count(*) AS p"  # noqa: S608
                f" FROM events WHERE {where} AND event = 'pageview' GROUP BY session_id"
            )
            sql = f"SELECT k, count(*) AS v, sum(p) FROM ({sql}) GROUP BY k"  # noqa: S608
        else:
            col = _column(dimension, params)
            if dimension == "event:name" or dimension.startswith("event:props:"):
                where += " AND event <> 'pageview'"
            sql = (
                f"SELECT {col} AS k, count(DISTINCT visitor_id) AS v,"  # noqa: S608
                f" count(*) FILTER (WHERE event = 'pageview') FROM events WHERE {where}"
                " AND k IS NOT NULL GROUP BY k"
            )
        rows = self.store.fetch(
            f"{sql} ORDER BY v DESC, k LIMIT ? OFFSET ?",
            [*params, limit, (page - 1) * limit],
        )
        return [{short: r[0], "visitors": int(r[1]), "pageviews": int(r[2] or 0)} for r in rows]

    def realtime_visitors(self, app: App) -> int:
        now = self.clock.now_ms()
        row = self.store.fetch(
            "SELECT count(DISTINCT visitor_id) FROM events WHERE app_id = ?"
            " AND ts >= make_timestamp(? * 1000) AND coalesce(bot, '') = ''",
            [app.id, now - 5 * 60_000],
        )
        return int(row[0][0] or 0)
