# Types of the optional C module (src/footfall/_speedups.c).

def parse_head(
    data: bytes, limit: int, /
) -> tuple[int, str, bytes, bytes, dict[str, str], bool] | None: ...
def parse_query(
    query: bytes, wanted: frozenset[str], max_fields: int, /
) -> dict[str, str] | None: ...
