"""Periods in the app's time zone: the UTC window a period covers, the previous period, buckets.

A period ends on ``date`` (a local day, default today) and always covers whole local days, except
``realtime`` (the last five minutes). Daylight-saving changes are handled by converting every local
midnight through ``zoneinfo``; buckets are keyed by local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from footfall.query.spec import PERIODS, QueryError

REALTIME_MS = 5 * 60_000


@dataclass(frozen=True, slots=True)
class Window:
    start_ms: int  # inclusive, UTC
    end_ms: int  # exclusive, UTC
    first_day: date | None  # local days covered (None for realtime)
    last_day: date | None
    tz: str

    @property
    def days(self) -> int:
        if self.first_day is None or self.last_day is None:
            return 0
        return (self.last_day - self.first_day).days + 1


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError("site_id", f"the app's time zone {name!r} is unknown") from None


def local_midnight_ms(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)


def local_day(ms: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, tz).date()


# The days a query may name. Far enough from date.min/date.max that no window, previous period,
# bucket or UTC-offset scan around them overflows (a 9999d period plus its previous period is ~55
# years; 9999-12-31 + 1 day does not exist).
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(9000, 12, 31)


def parse_day(text: str, param: str = "date") -> date:
    """A YYYY-MM-DD day between MIN_DAY and MAX_DAY, else QueryError naming ``param``."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(param, f"{text!r} is not a date like 2026-01-31") from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise QueryError(param, f"{text!r} is out of range ({MIN_DAY} to {MAX_DAY})")
    return day


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    return date(day.year + y, m + 1, 1)


def day_window(first: date, last: date, tz: ZoneInfo) -> Window:
    return Window(
        local_midnight_ms(first, tz),
        local_midnight_ms(last + timedelta(days=1), tz),
        first,
        last,
        str(tz.key),
    )


_EXTRA = re.compile(r"([1-9]\d{0,3})(d|h)")
MAX_HOURS = 24 * 93


def window(period: str, date_param: str | None, tz_name: str, now_ms: int) -> Window:
    """The UTC window of ``period`` ending on the local day ``date_param`` (default: today).

    Beyond Plausible's periods: ``<N>d`` (N local days ending on ``date``) and ``<N>h`` (the last N
    hours up to now, like ``realtime``)."""
    extra = _EXTRA.fullmatch(period)
    if period not in PERIODS and not extra:
        raise QueryError(
            "period", f"unknown period {period!r}; use one of {', '.join(PERIODS)}, <N>d or <N>h"
        )
    tz = zone(tz_name)
    if period == "realtime":
        return Window(now_ms - REALTIME_MS, now_ms + 1, None, None, str(tz.key))
    if extra and extra.group(2) == "h":
        hours = int(extra.group(1))
        if hours > MAX_HOURS:
            raise QueryError("period", f"at most {MAX_HOURS}h; use days beyond that")
        return Window(now_ms - hours * 3_600_000, now_ms + 1, None, None, str(tz.key))
    if period == "custom":
        if not date_param or "," not in date_param:
            raise QueryError("date", "period=custom needs date=YYYY-MM-DD,YYYY-MM-DD")
        a, b = date_param.split(",", 1)
        if "T" in a or "T" in b:
            return _time_window(a, b, tz)
        first, last = parse_day(a), parse_day(b)
        if last < first:
            raise QueryError("date", "the custom range ends before it starts")
        if (last - first).days > 3660:
            raise QueryError("date", "a custom range covers at most ten years")
        return day_window(first, last, tz)
    end = parse_day(date_param) if date_param else local_day(now_ms, tz)
    if period == "day":
        return day_window(end, end, tz)
    if extra:  # 7d, 30d and any <N>d
        return day_window(end - timedelta(days=int(extra.group(1)) - 1), end, tz)
    months = {"month": 1, "6mo": 6, "12mo": 12}[period]
    first = _add_months(end.replace(day=1), -(months - 1))
    last = _add_months(end.replace(day=1), 1) - timedelta(days=1)
    return day_window(first, last, tz)


def _instant_ms(text: str) -> int:
    """An ISO 8601 date-time with its UTC offset (``2026-01-31T12:00:00+01:00``, ``…Z``)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(
            "date", f"{text!r} is not a date-time like 2026-01-31T12:00:00+01:00"
        ) from None
    if when.tzinfo is None:
        raise QueryError("date", f"{text!r} needs its UTC offset (+01:00, Z)")
    if not MIN_DAY <= when.astimezone(UTC).date() <= MAX_DAY:
        raise QueryError("date", f"{text!r} is out of range ({MIN_DAY} to {MAX_DAY})")
    return int(when.timestamp() * 1000)


def _time_window(first: str, last: str, tz: ZoneInfo) -> Window:
    """From one instant to another, both included to the second (no whole days: answered from
    raw events, hour buckets)."""
    start, end = _instant_ms(first), _instant_ms(last)
    end = end - end % 1000 + 1000  # its whole last second
    if end <= start:
        raise QueryError("date", "the custom range ends before it starts")
    if end - start > 3660 * 86_400_000:
        raise QueryError("date", "a custom range covers at most ten years")
    return Window(start, end, None, None, str(tz.key))


def previous(w: Window, period: str) -> Window:
    """The period just before ``w``, of the same length (calendar months for month periods)."""
    if w.first_day is None or w.last_day is None:
        span = w.end_ms - w.start_ms
        return Window(w.start_ms - span, w.start_ms, None, None, w.tz)
    tz = zone(w.tz)
    if period in ("month", "6mo", "12mo"):
        months = {"month": 1, "6mo": 6, "12mo": 12}[period]
        first = _add_months(w.first_day, -months)
        return day_window(first, w.first_day - timedelta(days=1), tz)
    last = w.first_day - timedelta(days=1)
    return day_window(last - timedelta(days=w.days - 1), last, tz)


def default_interval(period: str) -> str:
    if period.endswith("h"):
        return "hour"
    return {"day": "hour", "realtime": "minute", "6mo": "month", "12mo": "month"}.get(period, "day")


def bucket_keys(w: Window, interval: str, now_ms: int) -> list[str]:
    """Every bucket of the window, in order, as the strings timeseries rows are keyed by."""
    tz = zone(w.tz)
    if interval == "minute":
        start = w.start_ms - w.start_ms % 60_000
        return [
            datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M:00")
            for ms in range(start, w.end_ms, 60_000)
        ]
    if interval == "hour":
        keys: list[str] = []
        ms = w.start_ms - w.start_ms % 3_600_000
        while ms < w.end_ms:
            key = datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:00:00")
            if key not in keys[-2:]:
                keys.append(key)
            ms += 3_600_000
        return keys
    assert w.first_day is not None and w.last_day is not None
    day = w.first_day
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    out: list[str] = []
    while day <= w.last_day:
        out.append(day.isoformat())
        if interval == "day":
            day += timedelta(days=1)
        elif interval == "week":
            day += timedelta(days=7)
        else:
            day = _add_months(day, 1)
    return out


def utc_offsets(w: Window) -> list[tuple[int, int]]:
    """``[(from_ms, offset_seconds), …]``: the app's UTC offset over the window, one entry per change.

    SQL turns a UTC timestamp into local time with a short CASE over these (no time zone database
    needed in the store)."""
    tz = zone(w.tz)
    out: list[tuple[int, int]] = []
    ms = w.start_ms - 86_400_000
    while ms <= w.end_ms + 86_400_000:
        off = datetime.fromtimestamp(ms / 1000, tz).utcoffset()
        seconds = int(off.total_seconds()) if off else 0
        if not out or out[-1][1] != seconds:
            # find the exact change by bisection within the last hour step
            lo = out[-1][0] if out else ms
            lo = max(lo, ms - 3_600_000)
            hi = ms
            while out and hi - lo > 1000:
                mid = (lo + hi) // 2
                o = datetime.fromtimestamp(mid / 1000, tz).utcoffset()
                if (int(o.total_seconds()) if o else 0) == seconds:
                    hi = mid
                else:
                    lo = mid
            out.append((hi - hi % 60_000 if out else ms, seconds))
        ms += 3_600_000
    return out


def as_utc(ms: int) -> datetime:
    """Naive UTC datetime, the form the stores' TIMESTAMP columns compare with."""
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
