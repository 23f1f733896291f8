"""The 1×1 transparent GIF every pixel answer carries, and the headers that stop caching it."""

TRANSPARENT_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
assert len(TRANSPARENT_GIF) == 43

NO_CACHE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"image/gif"),
    (b"content-length", b"43"),
    (b"cache-control", b"no-cache, no-store, must-revalidate"),
    (b"pragma", b"no-cache"),
    (b"expires", b"0"),
]
