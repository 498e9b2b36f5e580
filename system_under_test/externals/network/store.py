"""Durable authorization records in SQLite (WAL, synchronous=FULL): a record is on disk
before the network answers, so the records are the truth of money moved."""

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS authorizations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    card_last4 TEXT NOT NULL,
    outcome TEXT NOT NULL,
    decline_code TEXT,
    received_at_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS authorizations_reference ON authorizations (reference);
"""


@dataclass(frozen=True)
class Authorization:
    id: str
    reference: str
    amount: int
    currency: str
    card_last4: str
    outcome: str
    decline_code: str | None
    received_at_ns: int

    def to_json(self) -> dict:
        return asdict(self)


_COLUMNS = "id, reference, amount, currency, card_last4, outcome, decline_code, received_at_ns"


class AuthorizationStore:
    """One connection, used from one thread only (the simulator's store executor)."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.executescript(SCHEMA)

    def record(self, authorization: Authorization) -> None:
        """Write one authorization durably (committed and fsynced on return)."""
        row = asdict(authorization)
        self._connection.execute(
            f"INSERT INTO authorizations ({_COLUMNS}) VALUES "
            "(:id, :reference, :amount, :currency, :card_last4, :outcome, :decline_code,"
            " :received_at_ns)",
            row,
        )

    def by_reference(self, reference: str) -> list[Authorization]:
        """Every authorization received for `reference`, oldest first."""
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM authorizations WHERE reference = ? ORDER BY seq", (reference,)
        )
        return [Authorization(*row) for row in rows]

    def page(self, *, after_seq: int, limit: int) -> list[tuple[int, Authorization]]:
        """Up to `limit` authorizations after sequence number `after_seq`, with their seq."""
        rows = self._connection.execute(
            f"SELECT seq, {_COLUMNS} FROM authorizations WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [(row[0], Authorization(*row[1:])) for row in rows]

    def close(self) -> None:
        self._connection.close()
