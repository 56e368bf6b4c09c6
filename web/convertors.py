"""Path convertors: `{x:id}` matches only ids the database can hold, so huge numbers are a plain 404."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

MAX_ID = 2**31 - 1


class IdConvertor(Convertor[int]):
    # Nine digits at most: every id the database hands out for years, and never an integer overflow.
    regex = "[1-9][0-9]{0,8}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


def parse_id(raw: str) -> int | None:
    """A form or query value as an id, or None (ASCII digits only: `int("²")` raises)."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


register_url_convertor("id", IdConvertor())
