"""How the money paths speak SQL: every statement is a named constant, written as SQL text
where it stands alone and as SQLAlchemy Core where it is composed of shared parts (the ledger
posting, the insert in PROCESSING, the key's fenced writes); Core is compiled once, at import,
to PostgreSQL text with `$n` placeholders, and the text runs on asyncpg.

Why asyncpg, for the API and the worker alike: the hot path is a handful of statements per
request, each a prepared statement that asyncpg caches per connection by its text, one round
trip each (the statement counts of `tests.benchmarks.statement_counts` rest on it). The worker
resolves through the very statements the API runs, so it takes the same connections. Display
reads (listings, the balance, an object by id) stay SQLAlchemy queries on an engine: they are
composed per request (filters, cursors) and take no decision.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql import ClauseElement

# Renders `$n::TYPE` placeholders: each parameter typed as its column, as asyncpg wants them.
_DIALECT = asyncpg_dialect.dialect()


@dataclass(frozen=True)
class Named:
    """A statement compiled once: its text, the parameter name of each `$n` in order, and the
    values of the parameters the statement fixes itself (its constants)."""

    text: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]

    def arguments(self, **values: Any) -> list[Any]:
        """The positional arguments for `values`, which must name every other parameter.

        >>> from sqlalchemy import Integer, bindparam, select
        >>> statement = compiled(select(bindparam("a", type_=Integer), bindparam("b", 2)))
        >>> statement.text, statement.arguments(a=1)
        ('SELECT $1::INTEGER AS anon_1, $2::INTEGER AS anon_2', [1, 2])
        """
        given = set(values)
        wanted = set(self.names) - set(self.constants)
        assert given == wanted, f"parameters {sorted(given)} != {sorted(wanted)}: {self.text}"
        return [values[name] if name in values else self.constants[name] for name in self.names]

    async def fetch(self, connection: asyncpg.Connection, **values: Any) -> list[asyncpg.Record]:
        """The statement's rows, run with `values`."""
        return await connection.fetch(self.text, *self.arguments(**values))

    async def fetchrow(
        self, connection: asyncpg.Connection, **values: Any
    ) -> asyncpg.Record | None:
        """The statement's first row, run with `values`; None when it has none."""
        return await connection.fetchrow(self.text, *self.arguments(**values))

    async def fetchval(self, connection: asyncpg.Connection, **values: Any) -> Any:
        """The first column of the statement's first row, run with `values`."""
        return await connection.fetchval(self.text, *self.arguments(**values))

    async def execute(self, connection: asyncpg.Connection, **values: Any) -> str:
        """The statement's command status (`UPDATE 1`), run with `values`."""
        return await connection.execute(self.text, *self.arguments(**values))


def compiled(statement: ClauseElement) -> Named:
    """`statement` compiled for asyncpg, once."""
    result = statement.compile(dialect=_DIALECT)
    names = tuple(result.positiontup or ())
    constants = {
        name: result.binds[name].effective_value
        for name in names
        if not result.binds[name].required
    }
    return Named(result.string, names, constants)


def json_text(value: Mapping[str, Any]) -> str:
    """A JSONB parameter's value: the JSON text (the pool's codec takes text in)."""
    return json.dumps(value)


def row_count(status: str) -> int:
    """The row count of a command's status, as asyncpg returns it.

    >>> row_count("UPDATE 1"), row_count("DELETE 0")
    (1, 0)
    """
    return int(status.rpartition(" ")[2])
