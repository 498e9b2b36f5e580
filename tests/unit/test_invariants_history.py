"""Loading history.jsonl: pairing invokes with completions, and clear errors for broken files."""

import json
import re

import pytest

from invariants import RunFileError, load_history, ops_by_key, parse_history
from invariants.model.history import op_payment

BALANCE_OK = {"available": {"usd": 500}, "pending": {}}
# Valid values of a balance read, the simplest function, by event type.
BALANCE_VALUES = {"invoke": {"merchant": "acct_1"}, "ok": BALANCE_OK, "fail": {"http_status": 500}}
REFUND_INVOKE = {
    "merchant": "acct_1",
    "charge_id": "ch_1",
    "amount": 400,
    "currency": "usd",
    "attempt": 1,
}
REFUND_OK = {
    "refund_id": "re_1",
    "charge_id": "ch_1",
    "status": "succeeded",
    "amount": 400,
    "replayed": False,
}
PAYOUT_INVOKE = {"merchant": "acct_1", "amount": 700, "currency": "usd", "attempt": 1}
PAYOUT_OK = {"payout_id": "po_1", "status": "paid", "amount": 700, "replayed": False}
PAYOUT_FAIL = {"payout_id": "po_1", "status": "failed", "http_status": 200}
READ_INVOKE = {"merchant": "acct_1", "object": "refund", "id": "re_1"}
READ_OK = {"id": "re_1", "status": "succeeded", "amount": 400}
_DEFAULT = object()


def event(
    index, process, event_type, key="k1", *, value=_DEFAULT, error=None, f="balance", time=None
):
    if value is _DEFAULT:
        value = BALANCE_VALUES.get(event_type)
    return {
        "index": index,
        "time": index * 10 if time is None else time,
        "process": process,
        "type": event_type,
        "f": f,
        "key": key,
        "value": value,
        "error": error,
    }


def write_lines(tmp_path, lines):
    path = tmp_path / "history.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_pairs_interleaved_invokes_with_completions_in_invoke_order():
    ops = parse_history(
        [
            event(0, 1, "invoke", "a"),
            event(1, 2, "invoke", "b"),
            event(2, 2, "ok", "b"),
            event(3, 1, "fail", "a", error="card_declined"),
        ]
    )

    assert [(op.key, op.type, op.invoke_index, op.completion_index) for op in ops] == [
        ("a", "fail", 0, 3),
        ("b", "ok", 1, 2),
    ]
    assert ops[0].error == "card_declined"
    assert (ops[1].invoke_time, ops[1].completion_time) == (10, 20)


def test_invoke_without_completion_counts_as_info():
    ops = parse_history([event(0, 1, "invoke")])

    assert ops[0].type == "info"
    assert not ops[0].completed
    assert ops[0].completion_index is None


def test_retry_after_info_is_a_new_op_of_a_new_process():
    ops = parse_history(
        [
            event(0, 1, "invoke"),
            event(1, 1, "info", error="timeout"),
            event(2, 2, "invoke"),
            event(3, 2, "ok"),
        ]
    )

    assert ops_by_key(ops) == {"k1": ops}
    assert [op.type for op in ops] == ["info", "ok"]


def test_ops_by_key_groups_in_invoke_order():
    ops = parse_history(
        [event(0, 1, "invoke", "a"), event(1, 2, "invoke", "b"), event(2, 3, "invoke", "a")]
    )

    groups = ops_by_key(ops)

    assert [op.invoke_index for op in groups["a"]] == [0, 2]
    assert [op.invoke_index for op in groups["b"]] == [1]


def test_load_history_reads_a_file(tmp_path):
    path = write_lines(tmp_path, [json.dumps(event(0, 1, "invoke")), json.dumps(event(1, 1, "ok"))])

    assert [op.type for op in load_history(path)] == ["ok"]


def test_malformed_line_names_file_and_line(tmp_path):
    path = write_lines(tmp_path, [json.dumps(event(0, 1, "invoke")), '{"index": 1, "ti'])

    with pytest.raises(RunFileError, match=r"history\.jsonl:2: not valid JSON"):
        load_history(path)


@pytest.mark.parametrize("line", ["", "[1, 2]", '{"index": 1} {"index": 2}'])
def test_line_that_is_not_one_object_names_the_line(tmp_path, line):
    path = write_lines(tmp_path, [json.dumps(event(0, 1, "invoke")), line])

    with pytest.raises(RunFileError, match=r"history\.jsonl:2: "):
        load_history(path)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([event(1, 1, "invoke")], "index 1 out of order, expected 0"),
        ([event(0, 1, "ok")], "ok of process 1 has no prior invoke"),
        ([event(0, 1, "invoke"), event(1, 1, "invoke")], "invokes while its op invoked at index 0"),
        (
            [event(0, 1, "invoke"), event(1, 1, "info"), event(2, 1, "invoke")],
            "process 1 was retired by the info at index 1",
        ),
        ([event(0, 1, "invoke", "a"), event(1, 1, "ok", "b")], "does not match the invoke"),
        ([event(0, 1, "invoke"), event(1, 1, "fail")], "a fail must name its error"),
        ([event(0, 1, "invoke", time=-1)], "time -1 is negative"),
        ([event(0, 1, "start")], "field 'type' must be one of"),
        ([event(0, True, "invoke")], "field 'process' must be an integer, got a boolean"),
        ([{"index": 0, "time": 0, "process": 1, "type": "invoke"}], "missing field 'f'"),
        ([event(0, 1, "invoke", f="charge", value={"amount": 5})], "value: missing field"),
        ([event(0, 1, "invoke", f="charge", value=None)], "a charge invoke must carry a value"),
    ],
)
def test_broken_precondition_raises_naming_the_line(events, message):
    with pytest.raises(
        RunFileError, match=rf"history\.jsonl:{len(events)}: .*{re.escape(message)}"
    ):
        parse_history(events)


def test_values_of_refunds_payouts_and_reads_are_accepted():
    ops = parse_history(
        [
            event(0, 1, "invoke", "r1", f="refund", value=REFUND_INVOKE | {"amount": None}),
            event(1, 1, "ok", "r1", f="refund", value=REFUND_OK),
            event(2, 2, "invoke", "p1", f="payout", value=PAYOUT_INVOKE),
            event(3, 2, "info", "p1", f="payout", value=None, error="timeout"),
            event(4, 3, "invoke", "p1", f="payout", value=PAYOUT_INVOKE | {"attempt": 2}),
            event(5, 3, "fail", "p1", f="payout", value=PAYOUT_FAIL, error="expired_or_unknown"),
            event(6, 4, "invoke", "r1", f="read", value=READ_INVOKE),
            event(7, 4, "ok", "r1", f="read", value=READ_OK),
        ]
    )

    assert [(op.f, op.type) for op in ops] == [
        ("refund", "ok"),
        ("payout", "info"),
        ("payout", "fail"),
        ("read", "ok"),
    ]
    assert ops[0].invoke_value["amount"] is None


def completed(f, invoke_value, completion_type, completion_value, error=None):
    """An invoke of ``f`` and its completion, by process 1."""
    return [
        event(0, 1, "invoke", f=f, value=invoke_value),
        event(1, 1, completion_type, f=f, value=completion_value, error=error),
    ]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [event(0, 1, "invoke", f="refund", value=REFUND_INVOKE | {"amount": "all"})],
            "value: field 'amount' must be an integer or null, got a string",
        ),
        (
            [event(0, 1, "invoke", f="refund", value={"merchant": "acct_1", "amount": 5})],
            "value: missing field 'charge_id'",
        ),
        (
            completed("refund", REFUND_INVOKE, "ok", REFUND_OK | {"status": "pending"}),
            "value: field 'status' must be one of the values the contract names, got 'pending'",
        ),
        (
            completed("refund", REFUND_INVOKE, "fail", {"http_status": 400}, "amount_too_large"),
            "value: missing field 'refund_id'",
        ),
        (
            completed("payout", PAYOUT_INVOKE, "ok", PAYOUT_OK | {"status": "succeeded"}),
            "value: field 'status' must be one of the values the contract names, got 'succeeded'",
        ),
        (
            completed("payout", PAYOUT_INVOKE, "fail", None, "balance_insufficient"),
            "a payout fail must carry a value object",
        ),
        (
            [event(0, 1, "invoke", f="payout", value=PAYOUT_INVOKE | {"amount": 7.5})],
            "value: field 'amount' must be an integer, got a number",
        ),
        (
            [event(0, 1, "invoke", f="read", value=READ_INVOKE | {"object": "customer"})],
            "value: field 'object' must be one of",
        ),
        (
            completed("read", READ_INVOKE, "ok", {"id": "re_1", "status": "succeeded"}),
            "value: missing field 'amount'",
        ),
        (
            completed(
                "balance", BALANCE_VALUES["invoke"], "ok", BALANCE_OK | {"pending": {"usd": "5"}}
            ),
            "value: pending[...]: expected an integer, got a string",
        ),
        (
            completed("balance", BALANCE_VALUES["invoke"], "ok", BALANCE_OK | {"pending": 3}),
            "value: field 'pending' must be an object, got an integer",
        ),
        ([event(0, 1, "invoke", value=None)], "a balance invoke must carry a value object"),
        ([event(0, 1, "invoke", f="capture")], "field 'f' must be one of"),
    ],
)
def test_bad_values_raise_naming_the_line_and_field(events, message):
    with pytest.raises(RunFileError, match=rf"history\.jsonl:{len(events)}: ") as raised:
        parse_history(events)

    assert message in str(raised.value)


def test_unknown_function_is_named():
    with pytest.raises(RunFileError, match="got 'capture'"):
        parse_history([event(0, 1, "invoke", f="capture")])


def test_charge_values_are_checked_on_load():
    invoke = event(
        0,
        1,
        "invoke",
        f="charge",
        value={
            "merchant": "acct_1",
            "amount": "10.00",
            "currency": "usd",
            "card": "4242424242424242",
            "attempt": 1,
        },
    )

    with pytest.raises(RunFileError, match="field 'amount' must be an integer"):
        parse_history([invoke])


CHARGE_INVOKE = {
    "merchant": "acct_1",
    "amount": 500,
    "currency": "usd",
    "card": "4242424242424242",
    "attempt": 1,
}


def test_writes_name_their_payment_and_older_histories_without_it_still_load():
    ops = parse_history(
        [
            event(0, 1, "invoke", "k", f="charge", value=CHARGE_INVOKE | {"payment": "k"}),
            event(1, 2, "invoke", "k-a2", f="charge", value=CHARGE_INVOKE | {"payment": "k"}),
            event(2, 3, "invoke", "r1", f="refund", value=REFUND_INVOKE | {"payment": "r1"}),
            event(3, 4, "invoke", "p1", f="payout", value=PAYOUT_INVOKE | {"payment": "p1"}),
            # Written before the field existed: its key is its payment.
            event(4, 5, "invoke", "old", f="charge", value=CHARGE_INVOKE),
            event(5, 6, "invoke", "b1"),
        ]
    )

    assert [(op.key, op_payment(op)) for op in ops] == [
        ("k", "k"),
        ("k-a2", "k"),
        ("r1", "r1"),
        ("p1", "p1"),
        ("old", "old"),
        ("b1", "b1"),
    ]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [event(0, 1, "invoke", "k", f="charge", value=CHARGE_INVOKE | {"payment": 5})],
            "value: field 'payment' must be a string, got an integer",
        ),
        (
            [event(0, 1, "invoke", "r", f="refund", value=REFUND_INVOKE | {"payment": None})],
            "value: field 'payment' must be a string, got null",
        ),
        (
            [
                event(0, 1, "invoke", "k", f="payout", value=PAYOUT_INVOKE | {"payment": "a"}),
                event(1, 2, "invoke", "k", f="payout", value=PAYOUT_INVOKE | {"payment": "b"}),
            ],
            "payout key 'k' names payment 'b', but the invoke at index 0 named payment 'a'",
        ),
        (
            # No payment means the key's own: a key cannot be both its own and another's.
            [
                event(0, 1, "invoke", "k", f="charge", value=CHARGE_INVOKE),
                event(1, 2, "invoke", "k", f="charge", value=CHARGE_INVOKE | {"payment": "p"}),
            ],
            "charge key 'k' names payment 'p', but the invoke at index 0 named payment 'k'",
        ),
    ],
)
def test_a_bad_payment_raises_naming_the_line(events, message):
    with pytest.raises(RunFileError, match=rf"history\.jsonl:{len(events)}: ") as raised:
        parse_history(events)

    assert message in str(raised.value)


def test_one_key_string_of_two_merchants_may_name_two_payments():
    other = PAYOUT_INVOKE | {"merchant": "acct_2"}
    ops = parse_history(
        [
            event(0, 1, "invoke", "k", f="payout", value=PAYOUT_INVOKE | {"payment": "a"}),
            event(1, 2, "invoke", "k", f="payout", value=other | {"payment": "b"}),
        ]
    )

    assert [op_payment(op) for op in ops] == ["a", "b"]
