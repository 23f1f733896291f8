"""Country (and, with a MaxMind database, region and city) from the client address.

The country comes from ``iptocc``: IPv4 and IPv6 allocation data of the five regional internet
registries (AFRINIC, APNIC, ARIN, LACNIC, RIPE NCC), embedded in the package — no download at run
time, millions of lookups per second. The country is the one the block is *registered* to, which
agrees with commercial databases for about 95% of addresses. Private, loopback and other reserved
addresses have no country.

An optional MaxMind-format ``.mmdb`` file (``--geoip-db``, e.g. GeoLite2-City or DB-IP City Lite)
adds region and city; where it knows an address, its country is used too, so the three agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iptocc import country_code

from footfall.model import App, Context, Hit


class GeoDatabaseError(ValueError):
    """The configured .mmdb file cannot be used; the message says why."""


def lookup_country(ip: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a public address; None for private, reserved or not an address."""
    if ip.startswith("::ffff:"):  # an IPv4 client seen through an IPv6 socket
        ip = ip[7:]
    return country_code(ip)


def _english(record: Any) -> str | None:
    if isinstance(record, dict):
        names = record.get("names")
        if isinstance(names, dict):
            name = names.get("en")
            return name if isinstance(name, str) else None
    return None


class CityDatabase:
    """Region and city from a MaxMind-format database file."""

    def __init__(self, path: str) -> None:
        import maxminddb

        if not Path(path).is_file():
            raise GeoDatabaseError(f"--geoip-db {path}: no such file")
        try:
            self.reader = maxminddb.open_database(path)
        except (maxminddb.InvalidDatabaseError, ValueError, OSError) as exc:
            raise GeoDatabaseError(f"--geoip-db {path}: not a MaxMind database ({exc})") from None
        self.path = path
        self.kind = str(getattr(self.reader.metadata(), "database_type", "mmdb"))

    def lookup(self, ip: str) -> tuple[str | None, str | None, str | None]:
        """(country, region, city); Nones where the database has nothing."""
        try:
            record = self.reader.get(ip)
        except ValueError:
            return None, None, None
        if not isinstance(record, dict):
            return None, None, None
        country = record.get("country")
        code = country.get("iso_code") if isinstance(country, dict) else None
        subdivisions = record.get("subdivisions")
        region = (
            _english(subdivisions[0]) if isinstance(subdivisions, list) and subdivisions else None
        )
        return (
            code if isinstance(code, str) and len(code) == 2 else None,
            region[:64] if region else None,
            (_english(record.get("city")) or "")[:128] or None,
        )

    def close(self) -> None:
        self.reader.close()


class GeoStep:
    """Fills ``country`` (always) and ``region``/``city`` (with a city database)."""

    def __init__(self, city_db: CityDatabase | None = None) -> None:
        self.city_db = city_db

    def describe(self) -> str:
        base = "countries from iptocc (RIR data)"
        if self.city_db is None:
            return base
        return f"{base}; regions and cities from {self.city_db.path} ({self.city_db.kind})"

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        ip = ctx.ip
        if not ip:
            return None
        hit.country = lookup_country(ip)
        if self.city_db is not None and hit.country is not None:
            country, hit.region, hit.city = self.city_db.lookup(ip)
            if country is not None:
                hit.country = country
        return None
