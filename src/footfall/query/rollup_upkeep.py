"""Rollup upkeep that runs beside the folds: compaction (merging duplicate day rows, rebuilding
week and month sketches, rebuilding an app whose rollups are flagged), retention and deletion.
Mixed into :class:`footfall.query.rollup.Rollups`, which provides the store, the time zones and
the fold; kept apart so each module reads in one sitting."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from footfall.clock import Clock
from footfall.query.compact import compact_steps
from footfall.query.periods import as_utc, zone

if TYPE_CHECKING:
    from footfall.store.base import Store

Steps = list[tuple[str, Sequence[Any]]]


def rebuild_mark(app_id: str) -> tuple[str, list[Any]]:
    """The step that flags an app's rollups for a rebuild from raw events (by compaction)."""
    return ("INSERT INTO rollup_dirty VALUES (?, 'x', NULL)", [app_id])


def _local(ms: int, z: Any) -> date:
    return datetime.fromtimestamp(ms / 1000, z).date()


class RollupUpkeep:
    store: Store
    tz_of: Callable[[str], str | None]
    clock: Clock
    enabled: bool

    def state(self) -> dict[str, str]:
        raise NotImplementedError

    def _fold_events(
        self, app_id: str, where: str, params: list[Any], *, trusted: bool, done: Steps
    ) -> int:
        raise NotImplementedError

    def compact(self) -> int:
        """Merge duplicate rows of changed days and rebuild their week and month sketches;
        rebuild an app whole when its time zone changed. Returns the days compacted."""
        if not self.enabled:
            return 0
        done = 0
        apps = self.store.fetch(
            "SELECT app_id, count(*), count(*) FILTER (WHERE unit = 'x') FROM rollup_dirty"
            " GROUP BY 1"
        )
        state = self.state()
        for app_id, days, rebuild in apps:
            if rebuild or (state.get(app_id) not in (None, self.tz_of(app_id) or "UTC")):
                self.rebuild(app_id)
            else:
                today = _local(self.clock.now_ms(), zone(self.tz_of(app_id) or "UTC"))
                self.store.write(compact_steps(app_id, today))
            done += int(days)
        return done

    def forget_sessions_before(self, app_id: str, before_ms: int) -> None:
        """Drop session rows that ended before ``before_ms`` (retention): their days are counted
        already; only sessions still in progress are ever merged again."""
        if self.enabled:
            self.store.write(
                [
                    (
                        "DELETE FROM sessions WHERE app_id = ? AND ended < ?",
                        [app_id, as_utc(before_ms)],
                    )
                ]
            )

    def forget(self, app_id: str) -> None:
        """Drop every rollup row of an app (sessions too)."""
        tables = (
            "sessions",
            "rollup_hits",
            "rollup_sessions",
            "rollup_hll",
            "rollup_dirty",
            "rollup_state",
        )
        self.store.write([(f"DELETE FROM {t} WHERE app_id = ?", [app_id]) for t in tables])

    def rebuild(self, app_id: str, chunk_days: int = 7) -> int:
        """Recompute an app's rollups from its raw events, a few days at a time. Returns hits read."""
        if not self.enabled:
            return 0
        self.forget(app_id)
        # the state first: batches flushed meanwhile fold in normally (they are newer than `end`)
        tz = self.tz_of(app_id) or "UTC"
        self.store.write([("INSERT OR REPLACE INTO rollup_state VALUES (?, ?)", [app_id, tz])])
        bounds = self.store.fetch(
            "SELECT epoch_ms(min(ts)), epoch_ms(max(ts)) FROM events WHERE app_id = ?", [app_id]
        )[0]
        if bounds[0] is None:
            return 0
        read = 0
        step = chunk_days * 86_400_000
        end = int(bounds[1]) + 1
        for lo in range(int(bounds[0]), end, step):
            chunk = [as_utc(lo), as_utc(min(lo + step, end))]
            read += self._fold_events(app_id, "ts >= ? AND ts < ?", chunk, trusted=True, done=[])
        self.compact()
        return read
