"""Storage: a typed interface and a registry of backends chosen by name (DuckDB is the default).

SQL lives in this package and in ``footfall.query`` only.
"""

from footfall.store.base import Store, StoreBusy, StoreError, open_store, register_backend

__all__ = ["Store", "StoreBusy", "StoreError", "open_store", "register_backend"]
