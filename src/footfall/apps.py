"""The apps a server knows: an in-memory view of the store's apps table, by id and by alias.

The server process is the store's only writer, so changes made through it keep this view current.
"""

from __future__ import annotations

import secrets
import threading
from urllib.parse import urlsplit

from footfall.clock import Clock
from footfall.model import App, IdentityMode, new_uuid, parse_uuid
from footfall.store.base import Store


class AppError(ValueError):
    """A bad app definition, with a message for the user."""


def normalise_url(url: str) -> str:
    url = url.strip()
    if url and "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise AppError(f"not a web address: {url!r}")
    return url


def site_domain(host: str) -> str:
    """A site's host as domains are compared: lower case, without a leading ``www.``."""
    host = host.strip().lower()
    return host[4:] if host.startswith("www.") else host


def same_site(a: str, b: str) -> bool:
    """The hosts are one site for cookies: equal, or one a subdomain of the other (``www.``
    ignored)."""
    a, b = site_domain(a.rstrip(".")), site_domain(b.rstrip("."))
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


def cookie_warning(app: App, footfall_host: str | None) -> str | None:
    """Why cookie identity will not work for this app, if it will not: footfall's own cookies
    are first-party only when footfall is served from the site's host (or a subdomain of it).
    ``footfall_host`` None: not known (the warning is given as a caution)."""
    if app.identity != "cookie":
        return None
    if footfall_host is not None and app.hostname and same_site(app.hostname, footfall_host):
        return None
    where = f"on {footfall_host}, not on {app.hostname or 'the site'}" if footfall_host else ""
    return (
        "cookie identity needs footfall on the site's own host (or a subdomain of it)"
        + (f"; footfall is {where}" if where else "")
        + ": browsers treat its cookies as third-party (Safari and Firefox block or partition"
        " them) and every hit looks like a new visitor. Choose cookieless, or first-party (the"
        " tracker keeps its ids in the site's own cookies)."
    )


class AppRegistry:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._by_id: dict[str, App] = {}
        self._by_alias: dict[str, App] = {}
        self._by_site: dict[str, App] = {}
        self.reload()

    def reload(self) -> None:
        apps = self.store.list_apps()
        with self._lock:
            self._by_id = {a.id: a for a in apps}
            self._by_alias = {alias.lower(): a for a in apps for alias in a.aliases}
            self._by_site = {}
            for a in sorted(apps, key=lambda a: (a.created, a.name)):  # the oldest app wins a host
                if a.hostname:
                    self._by_site.setdefault(site_domain(a.hostname), a)

    def get(self, app_id: str) -> App | None:
        return self._by_id.get(app_id)

    def by_alias(self, alias: str) -> App | None:
        return self._by_alias.get(alias.strip().lower())

    def by_site(self, domain: str) -> App | None:
        """The app whose site (its ``url``) has this host, or that has it as an alias; a leading
        ``www.`` and case are ignored on either side. Two apps on one host: the older one."""
        key = site_domain(domain)
        if not key:
            return None
        return self._by_site.get(key) or self.by_alias(domain) or self.by_alias(key)

    def resolve(self, key: str) -> App | None:
        """An app by UUID, by alias (e.g. a UA-/G- tracking id), by its site's hostname or by its name."""
        app_id = parse_uuid(key)
        if app_id is not None:
            return self._by_id.get(app_id)
        lowered = key.strip().lower()
        found = self._by_alias.get(lowered)
        if found is None:
            for app in self.all():
                if lowered in (app.hostname, app.name.lower()):
                    return app
        return found

    def all(self) -> list[App]:
        return sorted(self._by_id.values(), key=lambda a: (a.created, a.name))

    def create(self, name: str, url: str = "", identity: IdentityMode = "cookieless") -> App:
        name = name.strip()
        if not name:
            raise AppError("an app needs a name")
        app = App(
            id=new_uuid(),
            name=name[:200],
            url=normalise_url(url),
            created=self.clock.now_ms(),
            identity=identity,
            api_secret=secrets.token_urlsafe(18),
        )
        self.store.create_app(app)
        self.reload()
        return app

    def save(self, app: App) -> None:
        for alias in app.aliases:
            owner = self._by_alias.get(alias.lower())
            if owner is not None and owner.id != app.id:
                raise AppError(f"alias {alias!r} already belongs to app {owner.id}")
        self.store.save_app(app)
        self.reload()

    def delete(self, app_id: str) -> bool:
        gone = self.store.delete_app(app_id)
        self.reload()
        return gone
