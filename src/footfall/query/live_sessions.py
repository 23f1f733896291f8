"""The sessions still open when the writer starts, read from the stored hits, so the writer's
session tracker (footfall.identify.sessions) continues them after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from footfall.store.base import Store

NEWEST_SQL = "SELECT max(ts) FROM events"
LIVE_SESSIONS_SQL = (
    "SELECT identity, visitor_id, session_id, max(ts) AS last FROM events"
    " WHERE ts >= ? AND visitor_id IS NOT NULL AND session_id IS NOT NULL"
    " GROUP BY identity, visitor_id, session_id ORDER BY last DESC LIMIT ?"
)


def _ms(moment: datetime) -> int:
    """A stored (naive, UTC) time in milliseconds since the epoch."""
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def live_sessions(store: Store, window_ms: int, limit: int) -> list[tuple[str, str, str, int]]:
    """(identity, visitor id, session id, last hit ms) of the sessions with a hit in the
    ``window_ms`` before the newest stored hit, newest first, at most ``limit``. The newest hit,
    not the clock: hits still in the spool after a long stop continue the visits they belong to."""
    [(newest,)] = store.fetch(NEWEST_SQL)
    if newest is None:
        return []
    rows = store.fetch(LIVE_SESSIONS_SQL, (newest - timedelta(milliseconds=window_ms), limit))
    return [(str(i), str(v), str(s), _ms(last)) for i, v, s, last in rows]
