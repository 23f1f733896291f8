"""GET /api/v1/export: an app's raw events in the footfall event format (docs/event-format.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from footfall.present.api_access import ApiAccess, ApiError, error_json

_TYPES = {  # the formats footfall.query.export writes
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


class ExportApi:
    def __init__(self, api: ApiAccess) -> None:
        self.api = api

    async def export(self, request: Request) -> Response:
        from footfall.query import export  # loads Arrow: the server does only for an export

        p = request.query_params
        fmt = p.get("format", "ndjson")
        if fmt not in export.FORMATS:
            return error_json(400, f"format: use one of {', '.join(export.FORMATS)}")
        try:
            key = self.api.authorise(request)
            app = self.api.site(request, key)
            lo, hi = export.export_range(app, p.get("from") or None, p.get("to") or None)
        except ApiError as exc:
            return error_json(exc.status, exc.message)
        except ValueError:
            return error_json(400, "from/to: dates like 2026-01-31")
        rt = self.api.rt
        tables = export.event_tables(rt.store, app.id, lo, hi)
        name = f"footfall-{app.id}.{fmt}"
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        if fmt == "parquet":
            from starlette.concurrency import run_in_threadpool

            body = await run_in_threadpool(export.parquet_bytes, tables)
            return Response(body, media_type=_TYPES[fmt], headers=headers)
        chunks = (
            export.ndjson_lines(app, tables, rt.clock.now_ms())
            if fmt == "ndjson"
            else export.csv_chunks(tables)
        )
        return StreamingResponse(chunks, media_type=_TYPES[fmt], headers=headers)
