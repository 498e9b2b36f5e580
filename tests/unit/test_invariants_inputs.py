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


def final_document(**overrides):
    document = {
        "complete": True,
        "errors": [],
        "read_time": 10,
        "charges": [
            {
                "id": "ch_1",
                "merchant": "acct_1",
                "idempotency_key": "k1",
                "amount": 1000,
                "currency": "usd",
                "state": "SUCCEEDED",
                "failure_code": None,
                "resolved_by": "api",
            }
        ],
        "network_authorizations": [
            {
                "id": "auth_1",
                "reference": "ch_1",
                "amount": 1000,
                "currency": "usd",
                "outcome": "approved",
                "decline_code": None,
            }
        ],
        "balances": [{"merchant": "acct_1", "available": 1000}],
        "idempotency_keys": [
            {"merchant": "acct_1", "key": "k1", "recovery_point": "finished", "response_code": 200}
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
    assert state.charges[0].state == "SUCCEEDED"
    assert state.network_authorizations[0].reference == "ch_1"
    assert state.balances[0].available == 1000
    assert state.idempotency_keys[0].recovery_point == "finished"


def test_incomplete_reads_say_why():
    state = parse_final_state(final_document(complete=False, errors=["replica: timeout"]))

    assert not state.reads_complete
    assert "replica: timeout" in state.incomplete_reason


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"complete": "yes"}, "field 'complete' must be a boolean"),
        ({"errors": [3]}, "errors[0] must be a string"),
        ({"charges": [{"id": "ch_1"}]}, "charges[0]: missing field 'merchant'"),
        ({"network_authorizations": ["auth_1"]}, "network_authorizations[0]: expected an object"),
    ],
)
def test_broken_final_state_names_the_field(overrides, message):
    with pytest.raises(RunFileError) as raised:
        parse_final_state(final_document(**overrides))

    assert message in str(raised.value)


def test_unknown_charge_state_names_the_row():
    document = final_document()
    document["charges"][0]["state"] = "DONE"

    with pytest.raises(RunFileError, match=r"charges\[0\]: field 'state' must be one of"):
        parse_final_state(document)


def test_repeated_charge_id_is_refused():
    document = final_document()
    document["charges"].append(dict(document["charges"][0]))

    with pytest.raises(RunFileError, match=r"charges\[1\]: id 'ch_1' appears twice"):
        parse_final_state(document)


def test_final_state_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "final_state.json"
    path.write_text('{"complete": tr', encoding="utf-8")

    with pytest.raises(RunFileError, match=r"final_state\.json: not valid JSON"):
        load_final_state(path)


# --- run directory ------------------------------------------------------------------------


def test_load_run_reads_the_three_inputs(tmp_path):
    history = [
        {"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "read", "key": "k"}
        | {"value": None, "error": None},
    ]
    (tmp_path / "history.jsonl").write_text(json.dumps(history[0]) + "\n", encoding="utf-8")
    (tmp_path / "faults.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "final_state.json").write_text(json.dumps(final_document()), encoding="utf-8")

    inputs = load_run(tmp_path)

    assert [op.type for op in inputs.ops] == ["info"]
    assert inputs.fault_windows == []
    assert inputs.final_state.charges[0].id == "ch_1"
