"""Stripe's lists as keyset pages: newest first (created descending, id descending as the
tie-breaker), `starting_after` / `ending_before` a cursor object, `has_more` exact.

A page reads one row more than it returns: that row's presence is `has_more`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class Page:
    rows: Sequence[Mapping[str, Any]]
    has_more: bool


class CursorNotFound(LookupError):
    """The cursor names no object of this list (for this merchant)."""


@dataclass(frozen=True)
class Listing:
    """What to page through: a query of rows in one order, with its created and id columns."""

    query: Select
    created: ColumnElement
    id: ColumnElement


def _after(listing: Listing, cursor: Mapping[str, Any]) -> ColumnElement[bool]:
    # Older than the cursor in (created, id) order.
    created, object_id = cursor["created"], cursor["id"]
    return or_(listing.created < created, and_(listing.created == created, listing.id < object_id))


def _before(listing: Listing, cursor: Mapping[str, Any]) -> ColumnElement[bool]:
    created, object_id = cursor["created"], cursor["id"]
    return or_(listing.created > created, and_(listing.created == created, listing.id > object_id))


async def page(
    engine: AsyncEngine,
    listing: Listing,
    *,
    limit: int,
    starting_after: Any = None,
    ending_before: Any = None,
) -> Page:
    """One page of `listing`; raises CursorNotFound when a cursor is no row of it."""
    assert starting_after is None or ending_before is None, "the parser refuses both cursors"
    backwards = ending_before is not None
    async with engine.connect() as connection:
        cursor_id = ending_before if backwards else starting_after
        query = listing.query
        if cursor_id is not None:
            # Looked up within the same query, so another merchant's object is no cursor.
            lookup = listing.query.with_only_columns(
                listing.id.label("id"), listing.created.label("created")
            ).where(listing.id == cursor_id)
            found = (await connection.execute(lookup)).mappings().first()
            if found is None:
                raise CursorNotFound(cursor_id)
            query = query.where((_before if backwards else _after)(listing, found))
        if backwards:
            # The `limit` rows just newer than the cursor, read oldest first, then turned.
            ordered = query.order_by(listing.created.asc(), listing.id.asc())
        else:
            ordered = query.order_by(listing.created.desc(), listing.id.desc())
        rows = (await connection.execute(ordered.limit(limit + 1))).mappings().all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows = list(reversed(rows))
    return Page(rows, has_more)
