"""The payments API as the harness's clients speak it: where each write kind is created (POST)
and read back (GET `<path>/<id>`), where the balance is read, the currencies and the largest
amount it takes.

The harness does not import the system it judges, so these are written here once for every
client (workload, bench, tests) and held equal to the system's routes and limits by a test.

>>> object_path("refund", "re_1")
'/v1/refunds/re_1'
"""

WRITE_PATHS = {"charge": "/v1/charges", "refund": "/v1/refunds", "payout": "/v1/payouts"}
BALANCE_PATH = "/v1/balance"
CURRENCIES = ("usd", "eur", "gbp")
# Stripe's ceiling for an amount in minor units (eight digits).
AMOUNT_MAX = 99_999_999


def object_path(kind: str, object_id: str) -> str:
    """The path that reads back one object of a write kind."""
    return f"{WRITE_PATHS[kind]}/{object_id}"
