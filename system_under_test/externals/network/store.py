"""Durable movement records in SQLite (WAL, synchronous=FULL): a record is on disk before the
network answers, so the records are the truth of money moved.

One table holds every kind (authorizations, refunds, payouts); `seq` orders them all, and a
final read pages through one kind at a time by it.
"""

import sqlite3
from dataclasses import astuple, replace
from pathlib import Path

from system_under_test.externals.network.contract import MovementKind, Outcome
from system_under_test.externals.network.movements import Movement

SCHEMA = """
CREATE TABLE IF NOT EXISTS movements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    card_last4 TEXT,
    authorization_id TEXT,
    outcome TEXT NOT NULL,
    decline_code TEXT,
    received_at_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS movements_kind_reference ON movements (kind, reference);
"""

# In the order of Movement's fields, so that a row and a Movement convert positionally.
_COLUMNS = (
    "id, kind, reference, amount, currency, card_last4, authorization_id, outcome,"
    " decline_code, received_at_ns"
)
_PLACEHOLDERS = ", ".join("?" * len(_COLUMNS.split(",")))


def _movement(row: tuple) -> Movement:
    movement = Movement(*row)
    return replace(movement, kind=MovementKind(movement.kind), outcome=Outcome(movement.outcome))


class MovementStore:
    """One connection, used from one thread only (the simulator's store executor)."""

    def __init__(self, path: Path) -> None:
        # Autocommit: each INSERT is its own transaction, committed (and, with
        # synchronous=FULL in WAL mode, fsynced) before execute returns.
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.executescript(SCHEMA)

    def record(self, movement: Movement) -> None:
        """Write one movement durably (committed and fsynced on return)."""
        self._connection.execute(
            f"INSERT INTO movements ({_COLUMNS}) VALUES ({_PLACEHOLDERS})", astuple(movement)
        )

    def by_reference(self, kind: MovementKind, reference: str) -> list[Movement]:
        """Every movement of `kind` received for `reference`, oldest first."""
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM movements WHERE kind = ? AND reference = ? ORDER BY seq",
            (str(kind), reference),
        )
        return [_movement(row) for row in rows]

    def page(self, kind: MovementKind, *, after_seq: int, limit: int) -> list[tuple[int, Movement]]:
        """Up to `limit` movements of `kind` after sequence number `after_seq`, with their seq."""
        rows = self._connection.execute(
            f"SELECT seq, {_COLUMNS} FROM movements WHERE kind = ? AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (str(kind), after_seq, limit),
        )
        return [(row[0], _movement(row[1:])) for row in rows]

    def close(self) -> None:
        self._connection.close()
