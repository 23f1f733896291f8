"""Stats API keys: ``ff_<id>_<secret>``, shown once; the store keeps only the key's SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from footfall.clock import Clock
from footfall.model import ApiKey
from footfall.store.base import Store

PREFIX = "ff_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRing:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def create(
        self, app_id: str | None = None, name: str = "", *, sites: bool = False
    ) -> tuple[ApiKey, str]:
        """A new key (for one app, or every app with ``None``) and its secret text; ``sites``:
        it may also manage sites (the Sites API), which only a key for every app may."""
        if sites and app_id is not None:
            raise ValueError("a key that manages sites is a key for every app")
        key_id = secrets.token_hex(4)
        secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(
            id=key_id, app_id=app_id, name=name[:100], created=self.clock.now_ms(), sites=sites
        )
        self.store.create_api_key(key, key_hash(secret))
        return key, secret

    def list(self) -> list[ApiKey]:
        return self.store.list_api_keys()

    def revoke(self, key_id: str) -> bool:
        return self.store.revoke_api_key(key_id.removeprefix(PREFIX), self.clock.now_ms())

    def check(self, secret: str) -> ApiKey | None:
        """The live key for ``secret``, or None."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        return self.store.find_api_key(key_hash(secret))

    @staticmethod
    def may_read(key: ApiKey, app_id: str) -> bool:
        return key.app_id is None or key.app_id == app_id
