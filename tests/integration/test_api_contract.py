"""Stripe's contract on a live topology: every bad input of the table gets Stripe's answer and
writes nothing; lists page exactly; Stripe's ways to authenticate; and thousands of generated
requests, none answered 5xx and none refused after writing anything."""

import base64
import json
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from system_under_test.api.openapi import DOCUMENT
from system_under_test.deploy.local import LocalTopology
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut, until

pytestmark = pytest.mark.integration

REPLICA_WAIT_S = 30.0
# The generated requests: batches of BATCH_SIZE, FUZZ_BATCHES of them.
FUZZ_BATCHES = 500
BATCH_SIZE = 10
# A body larger than aiohttp's limit (1 MiB).
OVERSIZED_BODY = b"amount=" + b"1" * (1024 * 1024 + 1)
TABLES = ("charges", "refunds", "payouts", "idempotency_keys", "ledger_entries")
NETWORK_KINDS = ("authorizations", "refunds", "payouts")


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("contract")
    with LocalTopology(run_dir, merchant_count=3) as local:
        yield local
    assert_nothing_left(run_dir)


@pytest.fixture(scope="module")
def sut(topology):
    return Sut(topology.endpoints())


@pytest.fixture(scope="module")
def charge(sut):
    """A charge of merchant 0 that refunds can name."""
    return sut.charge(5000, key="contract-charge")


def _written(sut: Sut) -> dict[str, int]:
    """Rows of every table a request could write, and the network's records."""
    counts = {table: sut.sql_value(f"SELECT count(*) FROM {table}") for table in TABLES}
    return counts | {f"network_{kind}": sut.network_count(kind) for kind in NETWORK_KINDS}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes | str = b""
    headers: dict = field(default_factory=dict)
    status: int = 400
    type_: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None


FORM = "application/x-www-form-urlencoded"
CASES = [
    # Pagination.
    Case("limit 0", "GET", "/v1/charges?limit=0", code="parameter_invalid", param="limit"),
    Case("limit -1", "GET", "/v1/charges?limit=-1", code="parameter_invalid", param="limit"),
    Case("limit 101", "GET", "/v1/refunds?limit=101", code="parameter_invalid", param="limit"),
    Case(
        "fullwidth limit",
        "GET",
        "/v1/payouts?limit=%EF%BC%91",
        code="parameter_invalid",
        param="limit",
    ),
    Case(
        "both cursors",
        "GET",
        "/v1/charges?starting_after=ch_1&ending_before=ch_2",
        code="parameter_invalid",
        param="ending_before",
    ),
    Case(
        "unknown cursor",
        "GET",
        "/v1/charges?starting_after=ch_nope",
        code="resource_missing",
        param="starting_after",
    ),
    Case("list filter unknown", "GET", "/v1/charges?customer=cus_1", param="customer"),
    # Digits.
    Case(
        "fullwidth amount",
        "POST",
        "/v1/charges",
        "amount=%EF%BC%91%EF%BC%90%EF%BC%90&currency=usd&source=tok_visa",
        code="parameter_invalid_integer",
        param="amount",
    ),
    Case(
        "arabic-indic amount",
        "POST",
        "/v1/payouts",
        "amount=%D9%A1%D9%A0%D9%A0&currency=usd",
        code="parameter_invalid_integer",
        param="amount",
    ),
    Case(
        "fullwidth card",
        "POST",
        "/v1/charges",
        "amount=100&currency=usd&source=" + "%EF%BC%94%EF%BC%92" * 8,
        code="parameter_invalid",
        param="source",
    ),
    Case(
        "luhn",
        "POST",
        "/v1/charges",
        "amount=100&currency=usd&source=4242424242424241",
        status=402,
        type_="card_error",
        code="incorrect_number",
        param="source",
    ),
    Case(
        "5000 digits",
        "POST",
        "/v1/charges",
        "currency=usd&source=tok_visa&amount=" + "9" * 5000,
        code="amount_too_large",
        param="amount",
    ),
    Case(
        "below the minimum",
        "POST",
        "/v1/charges",
        "amount=49&currency=usd&source=tok_visa",
        code="amount_too_small",
        param="amount",
    ),
    # Ignored parameters, now refused by name.
    Case(
        "capture false",
        "POST",
        "/v1/charges",
        "amount=100&currency=usd&source=tok_visa&capture=false",
        param="capture",
    ),
    Case(
        "unknown foo",
        "POST",
        "/v1/charges",
        "amount=100&currency=usd&source=tok_visa&foo=1",
        code="parameter_unknown",
        param="foo",
    ),
    Case(
        "customer",
        "POST",
        "/v1/charges",
        "amount=100&currency=usd&source=tok_visa&customer=cus_1",
        param="customer",
    ),
    Case(
        "metadata key too long",
        "POST",
        "/v1/payouts",
        f"amount=1&currency=usd&metadata[{'k' * 41}]=v",
        code="parameter_invalid",
        param=f"metadata[{'k' * 41}]",
    ),
    # Client errors that used to be 500s.
    Case(
        "non-utf-8 key",
        "POST",
        "/v1/payouts",
        "amount=1&currency=usd",
        headers={"Idempotency-Key": b"key-\xff\xfe"},
        code="parameter_invalid",
    ),
    Case(
        "key too long",
        "POST",
        "/v1/payouts",
        "amount=1&currency=usd",
        headers={"Idempotency-Key": "k" * 256},
        code="parameter_invalid",
    ),
    Case(
        "NUL in a parameter",
        "POST",
        "/v1/payouts",
        "amount=1&currency=usd&description=a%00b",
        code="parameter_invalid",
        param="description",
    ),
    Case(
        "NUL in a path id",
        "GET",
        "/v1/charges/ch_%00",
        status=404,
        code="resource_missing",
        param="id",
    ),
    Case(
        "NUL in a refund's charge",
        "POST",
        "/v1/refunds",
        "charge=ch_%00",
        code="parameter_invalid",
        param="charge",
    ),
    Case(
        "invalid percent-encoding",
        "POST",
        "/v1/charges",
        "amount=1%ZZ&currency=usd",
        code="parameter_invalid_integer",
        param="amount",
    ),
    Case(
        "invalid utf-8 body",
        "POST",
        "/v1/charges",
        b"amount=1\xff&currency=usd",
        headers={"Content-Type": FORM},
        code="parameter_invalid",
    ),
    Case(
        "bad charset",
        "POST",
        "/v1/charges",
        "amount=1",
        headers={"Content-Type": FORM + "; charset=bogus"},
        code="parameter_invalid",
    ),
    Case(
        "bad multipart",
        "POST",
        "/v1/charges",
        b"--x\r\n",
        headers={"Content-Type": "multipart/form-data"},
        code="parameter_invalid",
    ),
    # Routing errors are not retryable.
    Case("no route", "GET", "/v1/nowhere", status=404),
    Case("wrong method", "DELETE", "/v1/charges", status=405),
    Case(
        "body too large",
        "POST",
        "/v1/charges",
        OVERSIZED_BODY,
        headers={"Content-Type": FORM},
        status=413,
    ),
    Case(
        "missing object",
        "GET",
        "/v1/payouts/po_none",
        status=404,
        code="resource_missing",
        param="id",
    ),
    Case(
        "missing balance transaction",
        "GET",
        "/v1/balance_transactions/txn_999999999",
        status=404,
        code="resource_missing",
        param="id",
    ),
    Case("no key", "GET", "/v1/balance", headers={"Authorization": ""}, status=401),
]


def _send(sut: Sut, case: Case) -> requests.Response:
    headers = {"Authorization": f"Bearer {sut.endpoints.merchants[0].api_key}"}
    if case.method == "POST":
        headers["Content-Type"] = FORM
    return requests.request(
        case.method,
        f"{sut.endpoints.api_url}{case.path}",
        data=case.body,
        headers=headers | case.headers,
        timeout=30,
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gets_stripes_answer_and_writes_nothing(sut, charge, case):
    before = _written(sut)
    response = _send(sut, case)
    assert response.status_code == case.status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers.get("Stripe-Should-Retry") in (None, "false")
    error = response.json()["error"]
    assert (error["type"], error.get("code")) == (case.type_, case.code), error
    if case.param is not None:
        assert error["param"] == case.param
    assert _written(sut) == before


def test_lists_page_exactly(sut):
    merchant = 1
    created = [
        sut.charge(600 + number, key=f"page-{number}", merchant=merchant) for number in range(3)
    ]
    until(
        lambda: sut.sql("SELECT 1 FROM charges WHERE id = $1", created[-1]["id"], on="pg-replica"),
        timeout_s=REPLICA_WAIT_S,
    )
    newest_first = [charge["id"] for charge in reversed(created)]

    def page(query: str) -> dict:
        answer = sut.get(f"/v1/charges?{query}", merchant=merchant)
        assert answer.status == 200, answer
        return answer.body

    assert [c["id"] for c in page("limit=3")["data"]] == newest_first
    assert page("limit=3")["has_more"] is False
    assert page("limit=2")["has_more"] is True
    after = page(f"limit=2&starting_after={newest_first[1]}")
    assert ([c["id"] for c in after["data"]], after["has_more"]) == ([newest_first[2]], False)
    before = page(f"limit=1&ending_before={newest_first[2]}")
    assert ([c["id"] for c in before["data"]], before["has_more"]) == ([newest_first[1]], True)
    # Another merchant's charge is no cursor here.
    other = sut.charge(700, key="page-other", merchant=2)
    refused = sut.get(f"/v1/charges?starting_after={other['id']}", merchant=merchant)
    assert (refused.status, refused.code) == (400, "resource_missing")


@pytest.mark.parametrize(
    "authorization",
    [
        lambda key: f"Bearer {key}",
        lambda key: f"bearer {key}",
        lambda key: f"BEARER  {key} ",
        lambda key: "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
    ],
    ids=["Bearer", "bearer", "BEARER-spaces", "Basic"],
)
def test_stripes_ways_to_authenticate(sut, authorization):
    key = sut.endpoints.merchants[0].api_key
    response = requests.get(
        f"{sut.endpoints.api_url}/v1/balance",
        headers={"Authorization": authorization(key)},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_an_undecodable_api_key_is_a_401(sut):
    response = requests.get(
        f"{sut.endpoints.api_url}/v1/balance",
        headers={"Authorization": b"Bearer sk_test_\xff\xfe"},
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


# --- generated requests ---------------------------------------------------------------------

VALID_AMOUNTS = st.integers(min_value=50, max_value=5000).map(str)
AMOUNTS = st.one_of(
    # Well-formed amounts weigh as much as every malformed kind together.
    VALID_AMOUNTS,
    VALID_AMOUNTS,
    VALID_AMOUNTS,
    st.integers(min_value=-10, max_value=10**10).map(str),
    st.sampled_from(["", "0", "00050", "1.5", "1e3", " 100", "\uff11\uff10\uff10", "9" * 40]),
    st.text(max_size=8),
)
CARDS = st.sampled_from(
    [
        "tok_visa",
        "tok_chargeDeclined",
        "tok_chargeDeclinedInsufficientFunds",
        "tok_chargeDeclinedProcessingError",
        "4242424242424242",
        "4242424242424241",
        "4000000000000002",
        "",
        "tok_nope",
        "\uff14" * 16,
    ]
)
CURRENCIES = st.sampled_from(["usd", "usd", "usd", "USD", "eur", "gbp", "xyz", "", "us\u0000d"])
TEXT = st.text(max_size=12)
PARAMETERS = {
    "amount": AMOUNTS,
    "currency": CURRENCIES,
    "source": CARDS,
    "capture": st.sampled_from(["true", "false", "yes"]),
    "description": TEXT,
    "metadata[order]": TEXT,
    "metadata[]": TEXT,
    "charge": st.sampled_from(["ch_none", "", "x" * 300]),
    "limit": st.sampled_from(["1", "3", "0", "101", "-1", "a"]),
    "starting_after": st.sampled_from(["ch_none", "re_none"]),
    "foo": TEXT,
    "customer": TEXT,
}
ENDPOINTS = [
    ("POST", "/v1/charges", ["amount", "currency", "source"]),
    ("POST", "/v1/refunds", ["charge"]),
    ("POST", "/v1/payouts", ["amount", "currency"]),
    ("GET", "/v1/charges", []),
    ("GET", "/v1/refunds", []),
    ("GET", "/v1/payouts", []),
    ("GET", "/v1/balance_transactions", []),
    ("GET", "/v1/balance", []),
]
PATH_IDS = st.sampled_from(["ch_none", "re_none", "po_none", "txn_1", "txn_x", "\u00e9t\u00e9"])


@st.composite
def generated_requests(draw, charge_ids: list[str]):
    """One request: an endpoint, mostly well-formed parameters, now and then a wrong one."""
    if draw(st.integers(0, 9)) == 0:
        resource = draw(st.sampled_from(["charges", "refunds", "payouts", "balance_transactions"]))
        return ("GET", f"/v1/{resource}/{draw(PATH_IDS)}", {}, None)
    method, path, required = draw(st.sampled_from(ENDPOINTS))
    form = {name: draw(PARAMETERS[name]) for name in required if draw(st.integers(0, 9)) > 0}
    if path == "/v1/refunds" and draw(st.booleans()):
        form["charge"] = draw(st.sampled_from(charge_ids))
    # Now and then a parameter more, declared or not.
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(sorted(PARAMETERS)))
        form[name] = draw(PARAMETERS[name])
    key = draw(st.sampled_from(["unique", None, "weird"])) if method == "POST" else None
    return (method, path, form, key)


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)
    # Creations the API accepted, per kind: each writes one object and one network record.
    accepted: Counter = field(default_factory=Counter)
    # Those that carried an idempotency key, which each stored.
    keyed: int = 0


def _direct(sut: Sut) -> str:
    # Straight to the API: this test is about the API's answers, not about the fault proxy.
    return f"http://{sut.endpoints.services['api']}"


def _fire(sut: Sut, request: tuple, number: int, tally: Tally) -> None:
    method, path, form, key = request
    headers = {"Authorization": f"Bearer {sut.endpoints.merchants[0].api_key}"}
    if key == "unique":
        headers["Idempotency-Key"] = f"fuzz-{number}"
    elif key == "weird":
        headers["Idempotency-Key"] = f"fuzz-\u00e9-{number}".encode()
    send = requests.post if method == "POST" else requests.get
    arguments = {"data": form} if method == "POST" else {"params": form}
    try:
        response = send(f"{_direct(sut)}{path}", headers=headers, timeout=30, **arguments)
    except requests.ConnectionError as error:
        raise AssertionError(f"no answer to {method} {path} {form!r} {headers}: {error}") from None
    tally.sent += 1
    tally.statuses[response.status_code] += 1
    assert response.status_code < 500, (method, path, form, response.text)
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if error:
        tally.codes[error.get("code") or error["type"]] += 1
    if method == "POST" and (response.status_code == 200 or (error or {}).get("charge")):
        tally.accepted[path.rsplit("/", 1)[1]] += 1
        tally.keyed += "Idempotency-Key" in headers


def test_generated_requests_never_get_a_5xx_nor_write_when_refused(sut, charge):
    tally = Tally()
    before = _written(sut)
    charge_ids = [charge["id"], "ch_none"]

    @seed(20261203)
    @settings(
        max_examples=FUZZ_BATCHES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(generated_requests(charge_ids), min_size=BATCH_SIZE, max_size=BATCH_SIZE))
    def batch(requests_batch):
        for request in requests_batch:
            _fire(sut, request, tally.sent, tally)

    batch()
    after = _written(sut)
    print(
        f"\ngenerated requests: {tally.sent}; statuses {dict(tally.statuses)}; "
        f"{len(tally.codes)} distinct error codes {dict(tally.codes)}; "
        f"accepted {dict(tally.accepted)}, {tally.keyed} of them with a key"
    )
    assert tally.sent >= FUZZ_BATCHES * BATCH_SIZE
    assert not any(status >= 500 for status in tally.statuses)
    # Every object and network record comes from an accepted creation; a refusal wrote none.
    for kind, network in (
        ("charges", "authorizations"),
        ("refunds", "refunds"),
        ("payouts", "payouts"),
    ):
        assert after[kind] - before[kind] == tally.accepted[kind], kind
        assert after[f"network_{network}"] - before[f"network_{network}"] == tally.accepted[kind]
    stored_keys = sut.sql_value("SELECT count(*) FROM idempotency_keys WHERE key LIKE 'fuzz-%'")
    assert stored_keys == tally.keyed


def test_the_openapi_document_is_served(sut):
    response = requests.get(f"{sut.endpoints.api_url}/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(DOCUMENT))
