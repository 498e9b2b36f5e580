"""Handlers that read: one object by id (on the primary, so a read-back after an acknowledged
write sees it), and lists and the balance (display reads, on the replica, which may lag)."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.api.context import MERCHANT_ID, SERVICES
from system_under_test.api.errors import error_response, refused
from system_under_test.api.form import InvalidParameter, object_id_problem
from system_under_test.api.params import parse_list
from system_under_test.payments import balance_transactions, listing
from system_under_test.payments.balance import balance_object
from system_under_test.payments.charges import phases as charge_phases
from system_under_test.payments.charges.wire import EMBEDDED_REFUNDS_MAX, charge_object
from system_under_test.payments.errors import StripeError
from system_under_test.payments.flow import Flow
from system_under_test.payments.payouts import phases as payout_phases
from system_under_test.payments.payouts.wire import payout_object
from system_under_test.payments.refunds import phases as refund_phases
from system_under_test.payments.refunds.wire import refund_object
from system_under_test.payments.wire import list_object, parse_balance_transaction_id

Row = Mapping[str, Any]
# A row as its wire object; async, since a charge embeds its refunds (another read).
ToWire = Callable[[Row], Awaitable[dict[str, Any]]]


def _at_once(to_wire: Callable[[Row], dict[str, Any]]) -> ToWire:
    async def converted(row: Row) -> dict[str, Any]:
        return to_wire(row)

    return converted


def _primary(request: web.Request) -> AsyncEngine:
    return request.app[SERVICES].primary


def _display(request: web.Request) -> AsyncEngine:
    services = request.app[SERVICES]
    return services.replica or services.primary


def _no_such(
    noun: str, object_id: str, *, param: str = "id", error: StripeError = StripeError.NO_SUCH_OBJECT
) -> web.Response:
    shown = object_id[:40] if object_id_problem(object_id) is None else repr(object_id[:40])
    return error_response(error, param=param, noun=noun, shown=shown)


async def _refunds_of(engine: AsyncEngine, charge: Row) -> tuple[list[Row], bool]:
    page = await listing.page(
        engine,
        _movement_listing(refund_phases.FLOW, charge["merchant_id"], charge=charge["id"]),
        limit=EMBEDDED_REFUNDS_MAX,
    )
    return list(page.rows), page.has_more


async def _charge_with_refunds(engine: AsyncEngine, charge: Row) -> dict[str, Any]:
    refunds, more = await _refunds_of(engine, charge)
    return charge_object(charge, refunds, more_refunds=more)


def retrieve(flow: Flow, to_wire: Callable[[AsyncEngine], ToWire], match_name: str):
    """`GET /v1/<objects>/{id}`. Another merchant's object does not exist."""

    async def handler(request: web.Request) -> web.Response:
        object_id = request.match_info[match_name]
        if object_id_problem(object_id) is not None:
            return _no_such(flow.name, object_id)
        table = flow.table
        async with _primary(request).connect() as connection:
            row = (
                (
                    await connection.execute(
                        select(table).where(
                            table.c.id == object_id, table.c.merchant_id == request[MERCHANT_ID]
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return _no_such(flow.name, object_id)
        return web.json_response(await to_wire(_primary(request))(row))

    return handler


def _charges_on(engine: AsyncEngine) -> ToWire:
    async def with_refunds(row: Row) -> dict[str, Any]:
        return await _charge_with_refunds(engine, row)

    return with_refunds


retrieve_charge = retrieve(charge_phases.FLOW, _charges_on, "charge_id")
retrieve_refund = retrieve(refund_phases.FLOW, lambda _: _at_once(refund_object), "refund_id")
retrieve_payout = retrieve(payout_phases.FLOW, lambda _: _at_once(payout_object), "payout_id")


async def retrieve_balance(request: web.Request) -> web.Response:
    """`GET /v1/balance`: a display read (it may lag behind the primary)."""
    return web.json_response(await balance_object(_display(request), request[MERCHANT_ID]))


async def retrieve_balance_transaction(request: web.Request) -> web.Response:
    """`GET /v1/balance_transactions/{id}`."""
    text = request.match_info["transaction_id"]
    transaction_id = parse_balance_transaction_id(text)
    if transaction_id is None:
        return _no_such("balance transaction", text)
    merchant_listing = balance_transactions.listing(request[MERCHANT_ID])
    async with _primary(request).connect() as connection:
        row = (
            (
                await connection.execute(
                    merchant_listing.query.where(merchant_listing.id == transaction_id)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        return _no_such("balance transaction", text)
    return web.json_response(balance_transactions.balance_transaction_object(row))


def _movement_listing(flow: Flow, merchant_id: str, **filters: str) -> listing.Listing:
    table = flow.table
    query = select(table).where(table.c.merchant_id == merchant_id)
    if "charge" in filters:
        query = query.where(table.c.charge_id == filters["charge"])
    return listing.Listing(query, table.c.created_at, table.c.id)


async def _list(
    request: web.Request,
    noun: str,
    make_listing: Callable[[Mapping[str, str]], listing.Listing],
    to_wire: ToWire,
    *,
    filters: frozenset[str],
    cursor: Callable[[str], Any],
) -> web.Response:
    """One page of a list: `limit`, a cursor (`cursor` turns its text into the listing's id
    type, None when it cannot be one), and the endpoint's `filters`."""
    query = parse_list(request.query, filters=filters)
    if isinstance(query, InvalidParameter):
        return refused(query)
    named = {"starting_after": query.starting_after, "ending_before": query.ending_before}
    given = {name: text for name, text in named.items() if text is not None}
    cursors = {name: cursor(text) for name, text in given.items()}
    for name, value in cursors.items():
        if value is None:
            return _no_such(noun, given[name], param=name, error=StripeError.NO_SUCH_CURSOR)
    try:
        page = await listing.page(
            _display(request), make_listing(query.filters), limit=query.limit, **cursors
        )
    except listing.CursorNotFound:
        name = next(iter(given))
        return _no_such(noun, given[name], param=name, error=StripeError.NO_SUCH_CURSOR)
    data = [await to_wire(row) for row in page.rows]
    # A list's url is its route's path.
    url = request.match_info.route.resource.canonical
    return web.json_response(list_object(url, data, has_more=page.has_more))


def listed(
    noun: str,
    make_listing: Callable[[str, Mapping[str, str]], listing.Listing],
    to_wire: Callable[[AsyncEngine], ToWire],
    *,
    filters: frozenset[str] = frozenset(),
    cursor: Callable[[str], Any] = str,
):
    """`GET /v1/<objects>`: one page of the merchant's objects (a display read);
    `make_listing` takes the merchant and the endpoint's `filters` as given."""

    async def handler(request: web.Request) -> web.Response:
        merchant = request[MERCHANT_ID]
        return await _list(
            request,
            noun,
            lambda given: make_listing(merchant, given),
            to_wire(_display(request)),
            filters=filters,
            cursor=cursor,
        )

    return handler


def _movements(flow: Flow) -> Callable[[str, Mapping[str, str]], listing.Listing]:
    return lambda merchant, given: _movement_listing(flow, merchant, **given)


list_charges = listed("charge", _movements(charge_phases.FLOW), _charges_on)
list_refunds = listed(
    "refund",
    _movements(refund_phases.FLOW),
    lambda _: _at_once(refund_object),
    filters=frozenset({"charge"}),
)
list_payouts = listed("payout", _movements(payout_phases.FLOW), lambda _: _at_once(payout_object))
list_balance_transactions = listed(
    "balance transaction",
    lambda merchant, _: balance_transactions.listing(merchant),
    lambda _: _at_once(balance_transactions.balance_transaction_object),
    cursor=parse_balance_transaction_id,
)
