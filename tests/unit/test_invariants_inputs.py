"""Loading faults.jsonl and final_state.json, fault lookups by time, and whole run directories."""

import json

import pytest

from invariants import (
    FaultTimeline,
    RunFileError,
    load_final_state,
    load_run,
    parse_faults,
    parse_final_state,
)


def fault_event(index, event_type, name, time, *, confirmed=None, fault="toxic", target="network"):
    return {
        "index": index,
        "time": time,
        "type": event_type,
        "name": name,
        "fault": fault,
        "target": target,
        "params": {"latency_ms": 5000},
        "confirmed": confirmed,
        "evidence": {"timeouts": 2} if event_type == "stop" else None,
    }


MOVEMENT = {"merchant": "acct_1", "currency": "usd", "failure_code": None, "resolved_by": "api"}
RECORD = {"currency": "usd", "outcome": "approved", "decline_code": None}


def final_document(**overrides):
    """A final state with one row in every list: a charge, its refund, a payout, the ledger."""
    document = {
        "complete": True,
        "errors": [],
        "read_time": 10,
        "charges": [
            MOVEMENT
            | {"id": "ch_1", "idempotency_key": "k1", "amount": 1000, "state": "SUCCEEDED"}
            | {"amount_refunded": 400}
        ],
        "refunds": [
            MOVEMENT
            | {"id": "re_1", "idempotency_key": "r1", "amount": 400, "state": "SUCCEEDED"}
            | {"charge_id": "ch_1", "balance_seen": 1000}
        ],
        "payouts": [
            MOVEMENT
            | {"id": "po_1", "idempotency_key": "p1", "amount": 600, "state": "PROCESSING"}
            | {"resolved_by": None, "balance_seen": 600}
        ],
        "idempotency_keys": [
            {"merchant": "acct_1", "key": "k1", "recovery_point": "finished"}
            | {"response_code": 200, "object_id": "ch_1"},
            {"merchant": "acct_1", "key": "p1", "recovery_point": "payout_sent"}
            | {"response_code": None, "object_id": "po_1"},
        ],
        "ledger_accounts": [
            {"id": 1, "merchant": None, "kind": "network", "currency": "usd", "balance": -600},
            {"id": 2, "merchant": "acct_1", "kind": "available", "currency": "usd"}
            | {"balance": 600},
        ],
        "ledger_entries": [
            {"id": 1, "transaction_id": 1, "transaction_kind": "charge", "object_id": "ch_1"}
            | {"account_id": 1, "amount": -1000, "balance_after": -1000},
            {"id": 2, "transaction_id": 1, "transaction_kind": "charge", "object_id": "ch_1"}
            | {"account_id": 2, "amount": 1000, "balance_after": 1000},
        ],
        "network_authorizations": [RECORD | {"id": "auth_1", "reference": "ch_1", "amount": 1000}],
        "network_refunds": [
            RECORD
            | {"id": "nr_1", "reference": "re_1", "authorization_id": "auth_1", "amount": 400}
        ],
        "network_payouts": [
            RECORD | {"id": "np_1", "reference": "po_1", "amount": 600, "outcome": "expired"}
        ],
    }
    return document | overrides


# --- faults -------------------------------------------------------------------------------


def test_pairs_start_and_stop_into_windows():
    windows = parse_faults(
        [
            fault_event(0, "start", "a", 10),
            fault_event(1, "start", "b", 20),
            fault_event(2, "stop", "a", 30, confirmed=True),
        ]
    )

    assert [(w.name, w.start_ns, w.stop_ns, w.confirmed) for w in windows] == [
        ("a", 10, 30, True),
        ("b", 20, None, None),
    ]
    assert windows[0].evidence == {"timeouts": 2}
    assert windows[1].active_at(10**12)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([fault_event(0, "stop", "a", 5, confirmed=True)], "stopped without a start"),
        ([fault_event(0, "start", "a", 5), fault_event(1, "start", "a", 6)], "started twice"),
        (
            [fault_event(0, "start", "a", 5), fault_event(1, "stop", "a", 4, confirmed=True)],
            "stops before it starts",
        ),
        (
            [
                fault_event(0, "start", "a", 5),
                fault_event(1, "stop", "a", 6, confirmed=True, target="api"),
            ],
            "names (toxic, api)",
        ),
        ([fault_event(0, "start", "a", 5, confirmed=True)], "start line must have confirmed null"),
        ([fault_event(3, "start", "a", 5)], "index 3 out of order"),
    ],
)
def test_broken_fault_file_raises_naming_the_line(events, message):
    with pytest.raises(RunFileError, match=rf"faults\.jsonl:{len(events)}: ") as raised:
        parse_faults(events)

    assert message in str(raised.value)


def test_timeline_answers_which_faults_were_active():
    windows = parse_faults(
        [
            fault_event(0, "start", "a", 10),
            fault_event(1, "start", "b", 20),
            fault_event(2, "stop", "a", 30, confirmed=True),
            fault_event(3, "start", "instant", 40),
            fault_event(4, "stop", "instant", 40, confirmed=True),
        ]
    )
    timeline = FaultTimeline(windows)

    assert timeline.active_at(9) == ()
    assert timeline.active_at(10) == ("a",)
    assert timeline.active_at(25) == ("a", "b")
    # Windows are half-open: a fault is no longer active at its stop time.
    assert timeline.active_at(30) == ("b",)
    assert timeline.active_at(40) == ("b",)
    assert timeline.active_at(10**15) == ("b",)
    for time in (9, 10, 25, 30, 40):
        expected = tuple(window.name for window in windows if window.active_at(time))
        assert timeline.active_at(time) == expected


def test_timeline_without_faults_is_empty():
    assert FaultTimeline([]).active_at(5) == ()


# --- final state --------------------------------------------------------------------------


def test_parses_every_row_kind():
    state = parse_final_state(final_document())

    assert state.reads_complete
    assert state.incomplete_reason is None
    assert (state.charges[0].state, state.charges[0].amount_refunded) == ("SUCCEEDED", 400)
    assert (state.refunds[0].charge_id, state.refunds[0].balance_seen) == ("ch_1", 1000)
    assert (state.payouts[0].state, state.payouts[0].resolved_by) == ("PROCESSING", None)
    assert state.idempotency_keys[1].object_id == "po_1"
    assert state.ledger_accounts[0].merchant is None
    assert sum(entry.amount for entry in state.ledger_entries) == 0
    assert state.network_authorizations[0].reference == "ch_1"
    assert state.network_refunds[0].authorization_id == "auth_1"
    assert state.network_payouts[0].outcome == "expired"


def test_transitions_are_read_and_a_final_state_without_them_did_not_read_them():
    step = {"id": 1, "object_type": "charge", "object_id": "ch_1", "from_state": None}
    document = final_document(transitions=[step | {"to_state": "PENDING", "actor": "api"}])

    assert parse_final_state(document).transitions[0].from_state is None
    assert parse_final_state(final_document()).transitions is None


@pytest.mark.parametrize(
    ("transitions", "message"),
    [
        ({}, "field 'transitions' must be a list or null, got an object"),
        ([{"id": 1, "object_type": "charge"}], "transitions[0]: missing field 'object_id'"),
    ],
)
def test_broken_transitions_are_named(transitions, message):
    with pytest.raises(RunFileError) as raised:
        parse_final_state(final_document(transitions=transitions))

    assert message in str(raised.value)


def test_incomplete_reads_say_why():
    state = parse_final_state(final_document(complete=False, errors=["replica: timeout"]))

    assert not state.reads_complete
    assert "replica: timeout" in state.incomplete_reason


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"complete": "yes"}, "field 'complete' must be a boolean"),
        ({"errors": [3]}, "errors[0]: expected a string, got an integer"),
        ({"charges": [{"id": "ch_1"}]}, "charges[0]: missing field 'merchant'"),
        ({"network_authorizations": ["auth_1"]}, "network_authorizations[0]: expected an object"),
        ({"refunds": None}, "field 'refunds' must be a list, got null"),
        ({"network_payouts": [{"id": "np_1"}]}, "network_payouts[0]: missing field 'reference'"),
        ({"ledger_entries": [{"id": "1"}]}, "ledger_entries[0]: field 'id' must be an integer"),
    ],
)
def test_broken_final_state_names_the_field(overrides, message):
    with pytest.raises(RunFileError) as raised:
        parse_final_state(final_document(**overrides))

    assert message in str(raised.value)


def test_missing_list_is_named():
    document = final_document()
    del document["network_refunds"]

    with pytest.raises(RunFileError, match="missing field 'network_refunds'"):
        parse_final_state(document)


@pytest.mark.parametrize(
    ("name", "field", "value", "message"),
    [
        ("charges", "state", "DONE", r"charges\[0\]: field 'state' must be one of"),
        ("refunds", "state", "REFUNDED", r"refunds\[0\]: field 'state' must be one of"),
        ("payouts", "resolved_by", "cron", r"payouts\[0\]: field 'resolved_by' must be one of"),
        ("refunds", "charge_id", None, r"refunds\[0\]: field 'charge_id' must be a string"),
        ("payouts", "balance_seen", "600", r"payouts\[0\]: field 'balance_seen' must be an"),
        ("charges", "amount_refunded", None, r"charges\[0\]: field 'amount_refunded' must be"),
        (
            "network_refunds",
            "outcome",
            "reversed",
            r"network_refunds\[0\]: field 'outcome' must be one of",
        ),
        ("idempotency_keys", "object_id", 5, r"idempotency_keys\[0\]: field 'object_id' must"),
    ],
)
def test_bad_row_value_names_the_row_and_field(name, field, value, message):
    document = final_document()
    document[name][0][field] = value

    with pytest.raises(RunFileError, match=message):
        parse_final_state(document)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("charges", r"charges\[1\]: id 'ch_1' appears twice \(first at charges\[0\]\)"),
        ("refunds", r"refunds\[1\]: id 're_1' appears twice"),
        ("payouts", r"payouts\[1\]: id 'po_1' appears twice"),
        ("ledger_entries", r"ledger_entries\[2\]: id 1 appears twice"),
        ("network_refunds", r"network_refunds\[1\]: id 'nr_1' appears twice"),
        ("idempotency_keys", r"idempotency_keys\[2\]: \(merchant, key\) \('acct_1', 'k1'\)"),
    ],
)
def test_repeated_identity_is_refused(name, message):
    document = final_document()
    document[name].append(dict(document[name][0]))

    with pytest.raises(RunFileError, match=message):
        parse_final_state(document)


def test_final_state_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "final_state.json"
    path.write_text('{"complete": tr', encoding="utf-8")

    with pytest.raises(RunFileError, match=r"final_state\.json: not valid JSON"):
        load_final_state(path)


# --- run directory ------------------------------------------------------------------------


def test_load_run_reads_the_three_inputs(tmp_path):
    history = [
        {"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "balance", "key": "b"}
        | {"value": {"merchant": "acct_1"}, "error": None},
    ]
    (tmp_path / "history.jsonl").write_text(json.dumps(history[0]) + "\n", encoding="utf-8")
    (tmp_path / "faults.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "final_state.json").write_text(json.dumps(final_document()), encoding="utf-8")

    inputs = load_run(tmp_path)

    assert [op.type for op in inputs.ops] == ["info"]
    assert inputs.fault_windows == []
    assert inputs.final_state.charges[0].id == "ch_1"
