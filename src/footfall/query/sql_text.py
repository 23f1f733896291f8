"""SQL text and its bound parameters, built in step (footfall.query.sql and its parts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sql:
    """SQL text and its bound parameters, built in step."""

    text: str = ""
    params: list[Any] = field(default_factory=list)

    def add(self, text: str, *params: Any) -> Sql:
        self.text += text
        self.params.extend(params)
        return self

    def extend(self, other: Sql) -> Sql:
        return self.add(other.text, *other.params)
