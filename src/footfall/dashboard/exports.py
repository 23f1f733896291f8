"""CSV downloads from the dashboard: any panel's rows, and the raw events of the period shown.

``GET /apps/{id}/export/{panel}.csv`` (and ``/share/{token}/export/{panel}.csv``) answers the
panel's current tab under the page's period and filters, the same query string as the page: its
label column, visitors and the panel's second number, up to ``MAX_ROWS`` rows, best first.
``GET /apps/{id}/export/raw-events.csv`` streams the app's raw events of the period's days (local
time; footfall's event format's columns, footfall.query.export) — for logged-in readers only, a
public link does not give raw hits away. Cells a spreadsheet would take for a formula are
neutralised (a leading ``'``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from footfall.dashboard.accounts import Login
from footfall.dashboard.engine import QueryEngine, QueryError
from footfall.dashboard.panels import PANELS, TAB_PARAMS, _label, _tabs
from footfall.dashboard.params import ViewState
from footfall.dashboard.site import Dashboard, Problem
from footfall.model import App
from footfall.query.spec import NONE_VALUE, Filter

MAX_ROWS = 1_000
CSV = "text/csv; charset=utf-8"


def _neutralise(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


class Exports:
    def __init__(self, d: Dashboard, engine: QueryEngine) -> None:
        self.d = d
        self.engine = engine

    @staticmethod
    def view(request: Request) -> ViewState:
        try:
            return ViewState.from_query(parse_qs(request.url.query, max_num_fields=50), TAB_PARAMS)
        except QueryError as exc:
            raise Problem(400, f"{exc.param}: {str(exc)[:300]}") from None

    def panel_csv(self, app: App, view: ViewState, key: str) -> str:
        spec = next((p for p in PANELS if p.key == key), None)
        if spec is None:
            raise Problem(404, f"There is no panel {key!r}.")
        tabs = _tabs(spec, view, cities=bool(self.d.rt.config.geoip_db))
        chosen = view.tab(spec.key, tabs[0].key) if tabs else ""
        tab = next((t for t in tabs if t.key == chosen), tabs[0] if tabs else None)
        if tab is None:
            raise Problem(404, f"The panel {key!r} has nothing to show here.")
        q = view.spec(app, include_bots=True) if spec.bots else view.spec(app)
        if spec.only is not None:
            q = dataclasses.replace(q, filters=(*q.filters, spec.only))
        if tab.dimension.startswith("event:props:"):  # only the events that have the property
            q = dataclasses.replace(
                q, filters=(*q.filters, Filter(tab.dimension, "!=", NONE_VALUE))
            )
        metrics = ["visitors", spec.second] if spec.second else ["visitors"]
        try:
            rows = self.engine.breakdown(q, tab.dimension, metrics, limit=MAX_ROWS)
        except QueryError as exc:
            raise Problem(400, f"{exc.param}: {str(exc)[:300]}") from None
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([tab.title, "Visitors", *([spec.second_title] if spec.second else [])])
        for r in rows:
            if tab.dimension == "event:name" and r.get("name") == "pageview":
                continue
            second = [r.get(spec.second)] if spec.second else []
            writer.writerow([_neutralise(_label(r, tab.dimension)), r.get("visitors"), *second])
        return out.getvalue()

    async def _panel(self, request: Request, app: App) -> Response:
        view = self.view(request)
        key = request.path_params["panel"]
        body = await self.d.blocking(self.panel_csv, app, view, key)
        name = f"footfall-{key}-{view.period}.csv"
        return Response(
            body, media_type=CSV, headers={"content-disposition": f'attachment; filename="{name}"'}
        )

    async def panel(self, request: Request) -> Response:
        login: Login = await self.d.require_login(request)
        return await self._panel(request, self.d.readable_app(login, request.path_params["app_id"]))

    async def shared_panel(self, request: Request, app: App) -> Response:
        return await self._panel(request, app)

    async def events(self, request: Request) -> Response:
        from footfall.query import export  # loads Arrow: only for an export

        login = await self.d.require_login(request)
        app = self.d.readable_app(login, request.path_params["app_id"])
        view = self.view(request)
        window = self.engine.window(view.spec(app))
        day = window.first_day
        if day is None:  # a rolling window (realtime): its exact instants
            lo, hi = window.start_ms, window.end_ms
        else:  # the period's local days
            last = day + timedelta(days=window.days - 1)
            lo, hi = export.export_range(app, day.isoformat(), last.isoformat())
        tables = export.event_tables(self.d.rt.store, app.id, lo, hi)
        name = f"footfall-events-{app.id}-{view.period}.csv"
        return StreamingResponse(
            export.csv_chunks(tables),
            media_type=CSV,
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
