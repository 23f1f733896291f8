"""The running server's store, for CLI commands: a Unix socket beside the database file.

DuckDB lets one process open a file, and while ``footfall serve`` runs that process is the server.
The server listens on ``<db>.sock`` (:class:`StoreServer`); a command that finds the file taken
opens :class:`RemoteStore` on that socket instead, and every ``Store`` call runs in the server, on
its store, as if the command had the file. The socket is created mode 0600 and the server answers
only processes of its own user (or root), checked by the kernel's peer credentials: the same
people who could open the file itself. Requests and answers are length-prefixed pickles (the
arguments are footfall's own records, rows and Arrow tables).
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from footfall.store.base import Store, StoreBusy, StoreError, StoreOutOfMemory

log = logging.getLogger("footfall.store")

_FRAME = struct.Struct("<Q")
MAX_FRAME = 1 << 30  # an import's Arrow table of 50,000 hits is ~30 MB
MAX_COMMANDS = 8  # commands served at once
# what a command may not do to the server's store
_REFUSED = frozenset({"close", "reopen"})
# the calls and attributes of the Store protocol
_CALLS = frozenset(
    {name for name in vars(Store) if not name.startswith("_")} | set(Store.__annotations__)
)
_ERRORS: dict[str, type[StoreError]] = {
    "StoreBusy": StoreBusy,
    "StoreOutOfMemory": StoreOutOfMemory,
}
_MAX_PATH = 107  # sun_path, less its terminating zero


def socket_path(db: str) -> Path | None:
    """Where the server of a DuckDB file listens: ``<file>.sock``; None for other stores."""
    if "://" in db or db in ("", ":memory:"):
        return None
    return Path(os.path.abspath(db) + ".sock")


def _send(sock: socket.socket, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_FRAME.pack(len(data)) + data)


def _receive(sock: socket.socket) -> Any:
    head = _read(sock, _FRAME.size)
    if head is None:
        return None
    (size,) = _FRAME.unpack(head)
    if size > MAX_FRAME:
        raise StoreError(f"a request of {size} bytes is over {MAX_FRAME}")
    body = _read(sock, size)
    if body is None:
        raise StoreError("the connection closed in the middle of a request")
    return pickle.loads(body)


def _read(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


class StoreServer:
    """Serves ``store`` on ``path``; ``on_change(method)`` runs after a call that changed apps;
    ``extras`` are calls of the server's own beside the store's (footfall.workers)."""

    def __init__(
        self,
        store: Store,
        path: Path,
        on_change: Callable[[str], None] | None = None,
        extras: dict[str, Callable[..., Any]] | None = None,
        slots: int = MAX_COMMANDS,
    ) -> None:
        self.store = store
        self.path = path
        self.on_change = on_change
        self.extras = dict(extras or {})
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(slots)  # clients served at once

    def start(self) -> bool:
        """Listen; False (and a warning) when the socket cannot be made here."""
        if len(os.fsencode(self.path)) > _MAX_PATH:
            log.warning("no CLI socket: %s is longer than a Unix socket path may be", self.path)
            return False
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.path.unlink(missing_ok=True)  # left by a server that was killed
            old = os.umask(0o177)
            try:
                listener.bind(str(self.path))
            finally:
                os.umask(old)
            listener.listen(16)
        except OSError as exc:
            listener.close()
            log.warning("no CLI socket at %s: %s", self.path, exc.strerror)
            return False
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="footfall-cli", daemon=True)
        self._thread.start()
        return True

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            if _peer_uid(conn) not in (0, os.getuid()):
                conn.close()
                continue
            self._slots.acquire()  # more commands at once wait in the listen queue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._requests(conn)
            finally:
                self._slots.release()

    def _requests(self, conn: socket.socket) -> None:
        """Answer a command's calls, one after another, until it closes the connection."""
        while True:
            try:
                request = _receive(conn)
                if request is None:
                    return
                _send(conn, self._answer(*request))
            except (OSError, StoreError, pickle.UnpicklingError, TypeError, ValueError):
                return

    def _answer(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        extra = self.extras.get(name)
        if extra is None and (name not in _CALLS or name in _REFUSED):
            return ("error", "StoreError", f"{name} is not a store call")
        try:
            attribute = extra if extra is not None else getattr(self.store, name)
            value = attribute(*args, **kwargs) if callable(attribute) else attribute
        except StoreError as exc:
            return ("error", type(exc).__name__, str(exc))
        except Exception as exc:  # the command reports it; the server goes on
            return ("error", "StoreError", f"{type(exc).__name__}: {exc}")
        if name in ("create_app", "save_app", "delete_app") and self.on_change is not None:
            self.on_change(name)
        return ("ok", value)

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            self.path.unlink(missing_ok=True)


class RemoteStore:
    """Every ``Store`` call sent to the server listening on ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(str(path))
        except OSError as exc:
            self._sock.close()
            raise StoreError(f"no footfall server answers at {path}: {exc.strerror}") from None
        self._lock = threading.Lock()
        self.backend = str(self._call("backend"))
        self.dialect = str(self._call("dialect"))

    @property
    def generation(self) -> int:
        return int(self._call("generation"))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A call of the server's own (StoreServer's ``extras``) or of its store."""
        return self._call(name, *args, **kwargs)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                _send(self._sock, (name, args, kwargs))
                answer = _receive(self._sock)
            except OSError as exc:
                raise StoreError(f"the footfall server at {self.path} went away: {exc}") from None
        if answer is None:
            raise StoreError(f"the footfall server at {self.path} went away")
        if answer[0] == "ok":
            return answer[1]
        raise _ERRORS.get(answer[1], StoreError)(answer[2])

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, *args, **kwargs)

    def close(self) -> None:
        self._sock.close()

    def reopen(self) -> None:
        raise StoreError("a command cannot reconnect the server's store")


def open_remote(path: Path) -> Store:
    """The server's store as a ``Store`` (its methods are forwarded by name)."""
    return cast(Store, RemoteStore(path))
