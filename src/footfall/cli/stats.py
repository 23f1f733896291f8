"""`footfall stats`: numbers in the terminal, from the same query engine as the Stats API."""

from __future__ import annotations

import click

from footfall.cli.common import db_option, find_app, open_registry, store_option
from footfall.clock import SystemClock

_SINCE_UNITS = {"h": "h", "d": "d", "w": "w", "m": "mo", "y": "y"}


def since_period(text: str) -> str:
    """The old ``--since`` durations as periods: 24h → 24h (rolling), 7d → 7d, 4w → 28d,
    6m → 6mo, 1y → 12mo."""
    import re

    m = re.fullmatch(r"\s*(\d+)\s*(h|d|w|m|y)\s*", text.lower())
    if not m or int(m.group(1)) == 0:
        raise click.BadParameter(
            f"{text!r} is not a duration like 24h, 7d, 4w, 6m or 1y", param_hint="--since"
        )
    n, unit = int(m.group(1)), m.group(2)
    if unit == "w":
        return f"{7 * n}d"
    if unit == "m":
        return "month" if n == 1 else "6mo" if n <= 6 else "12mo"
    if unit == "y":
        return "12mo"
    return f"{n}{unit}"


@click.command()
@click.argument("app_key")
@click.option(
    "--period",
    default=None,
    help="day, 7d, 30d, month, 6mo, 12mo, custom, realtime, <N>d, <N>h. [default: 30d]",
)
@click.option(
    "--date", default=None, help="The period's last day (YYYY-MM-DD); for custom: FIRST,LAST."
)
@click.option("--since", default=None, help="Older spelling of --period: 24h, 7d, 4w, 6m, 1y.")
@click.option(
    "--metrics", default=None, help="Comma-separated metrics, e.g. visitors,pageviews,bounce_rate."
)
@click.option(
    "--by",
    "by",
    default=None,
    help="Break down by a dimension, e.g. event:page, visit:source, goal (event:goal).",
)
@click.option("--filter", "filters", multiple=True, help="dimension==value (repeatable; also a;b).")
@click.option("--limit", default=10, show_default=True, help="Rows of a breakdown.")
@click.option("--bots", is_flag=True, help="Count bot hits too.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the Stats API's shapes).")
@db_option
@store_option
def stats(
    app_key: str,
    period: str | None,
    date: str | None,
    since: str | None,
    metrics: str | None,
    by: str | None,
    filters: tuple[str, ...],
    limit: int,
    bots: bool,
    as_json: bool,
    db: str,
    store: str,
) -> None:
    """Print an app's numbers: totals and top pages, or one breakdown with --by."""
    import msgspec

    from footfall.present.text import breakdown_text, summary_text
    from footfall.query import QueryEngine, QueryError, QuerySpec, parse_filters
    from footfall.store.base import StoreOutOfMemory

    chosen = period or (since_period(since) if since else "30d")
    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        engine = QueryEngine(registry.store, SystemClock())
        try:
            q = QuerySpec(app, chosen, date, parse_filters(";".join(filters)), include_bots=bots)
            if by in ("goal", "goals"):
                by = "event:goal"
            if by:
                default = ["visitors", "pageviews"]
                if by == "event:goal":  # Plausible's goal report: uniques, total, rate
                    default = ["visitors", "events", "conversion_rate"]
                    if any(g.currency for g in registry.store.list_goals(app.id)):
                        default.append("total_revenue")
                wanted = metrics.split(",") if metrics else default
                rows = engine.breakdown(q, by, wanted, limit=limit)
                result: object = {"results": rows}
                text = breakdown_text(app, chosen, by, wanted, rows)
            else:
                wanted = (
                    metrics.split(",") if metrics else ["pageviews", "visitors", "visits", "events"]
                )
                totals = engine.aggregate(q, wanted)
                pages = engine.breakdown(q, "event:page", ["pageviews"], limit=limit)
                result = {"results": totals, "top_pages": pages}
                text = summary_text(app, chosen, totals, pages)
        except QueryError as exc:
            raise click.BadParameter(exc.message, param_hint=_hint(exc.param)) from None
        except StoreOutOfMemory as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()
    click.echo(msgspec.json.encode(result).decode() if as_json else text)


def _hint(param: str) -> str:
    return {"property": "--by", "filters": "--filter", "metrics": "--metrics"}.get(
        param, f"--{param}"
    )
