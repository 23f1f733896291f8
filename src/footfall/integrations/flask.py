"""Flask extension: ``Footfall(app, endpoint="https://stats.example", app_id="UA-12345-6", ...)``.

It wraps ``app.wsgi_app`` in :class:`FootfallWSGI`, so recording happens after Flask produced the
response and sending happens in the tracker's thread. Options may also come from the Flask config
(``FOOTFALL_ENDPOINT``, ``FOOTFALL_APP``, ``FOOTFALL_API_SECRET``, ``FOOTFALL_PATHS``,
``FOOTFALL_CONTENT_TYPES``, ``FOOTFALL_NEGOTIATE``, ``FOOTFALL_TRUSTED_PROXIES``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from footfall.client import Tracker
from footfall.integrations.common import Rules
from footfall.integrations.wsgi import FootfallWSGI


class Footfall:
    def __init__(
        self,
        app: Any = None,
        *,
        endpoint: str | None = None,
        app_id: str | None = None,
        api_secret: str | None = None,
        paths: Iterable[str] | None = None,
        content_types: Iterable[str] | None = None,
        negotiate: Iterable[str] | None = None,
        trusted_proxies: Iterable[str] | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.options: dict[str, Any] = {
            "endpoint": endpoint,
            "app": app_id,
            "api_secret": api_secret,
            "paths": paths,
            "content_types": content_types,
            "negotiate": negotiate,
            "trusted_proxies": trusted_proxies,
        }
        self.tracker = tracker
        self.middleware: FootfallWSGI | None = None
        if app is not None:
            self.init_app(app)

    def _option(self, app: Any, name: str) -> Any:
        value = self.options[name]
        return value if value is not None else app.config.get(f"FOOTFALL_{name.upper()}")

    def init_app(self, app: Any) -> None:
        endpoint = self._option(app, "endpoint")
        app_id = self._option(app, "app")
        if self.tracker is None:
            if not endpoint or not app_id:
                raise ValueError("Footfall needs endpoint= and app_id= (or FOOTFALL_ENDPOINT/_APP)")
            self.tracker = Tracker(endpoint, app_id, api_secret=self._option(app, "api_secret"))
        rules = Rules.build(
            paths=self._option(app, "paths") or (),
            content_types=self._option(app, "content_types"),
            negotiate=self._option(app, "negotiate") or (),
            trusted_proxies=self._option(app, "trusted_proxies") or (),
        )
        base = (endpoint or self.tracker.endpoint).rstrip("/")
        self.middleware = FootfallWSGI(
            app.wsgi_app,
            self.tracker,
            rules=rules,
            app_id=app_id,
            script_src=f"{base}/footfall.js",
        )
        app.wsgi_app = self.middleware
        app.extensions["footfall"] = self
