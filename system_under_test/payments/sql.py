"""Building one SQL statement with its parameters in step, so that a statement of several
common table expressions never numbers its `$n` by hand."""

import json
from collections.abc import Mapping
from typing import Any


class Statement:
    """Parameters of one statement: each `param(value)` returns its placeholder.

    >>> statement = Statement()
    >>> f"WHERE id = {statement.param('ch_1')} AND n = {statement.param(2, 'int')}"
    'WHERE id = $1 AND n = $2::int'
    >>> statement.values
    ['ch_1', 2]
    """

    def __init__(self) -> None:
        self.values: list[Any] = []

    def param(self, value: Any, cast: str | None = None) -> str:
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{cast}" if cast else placeholder

    def json(self, value: Mapping[str, Any]) -> str:
        """A JSONB parameter (sent as JSON text, which both pools' codecs expect)."""
        return self.param(json_text(value), "jsonb")


def json_text(value: Mapping[str, Any]) -> str:
    """A JSONB parameter's value: the JSON text (both pools' codecs take text in)."""
    return json.dumps(value)


def row_count(status: str) -> int:
    """The row count of a command's status, as asyncpg returns it.

    >>> row_count("UPDATE 1"), row_count("DELETE 0")
    (1, 0)
    """
    return int(status.rpartition(" ")[2])
