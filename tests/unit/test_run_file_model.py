"""The run-file model: what a writer encodes, a reader decodes to the same thing, per file."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invariants import RunFileError, load_faults, load_history, parse_faults, parse_history
from invariants.model.faults import encode_fault_event, encode_faults
from invariants.model.files import FAULTS_FILE, FINAL_STATE_FILE, HISTORY_FILE
from invariants.model.final_state import (
    UncheckedFinalState,
    encode_final_state,
    final_state_from_reads,
    load_final_state,
    parse_final_state,
)
from invariants.model.history import encode_event, encode_history
from invariants.model.provenance import Provenance, encode_provenance, parse_provenance
from scenarios.run_files import write_final_state
from tests.unit.test_invariants_builders import Run
from tests.unit.test_invariants_properties import ACTIONS, build

action_lists = st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(action_lists)
def test_history_written_by_the_encoder_reads_back_as_the_same_ops(tmp_path_factory, actions):
    events = build(["charge", "retry", *actions]).run.events
    path = tmp_path_factory.mktemp("run") / HISTORY_FILE
    path.write_bytes(b"".join(encode_event(**event) for event in events))

    ops = load_history(path)

    assert ops == parse_history(events)
    # And the ops encode back to lines that read as the same ops.
    again = path.with_name("again.jsonl")
    again.write_bytes(b"".join(encode_history(ops)))
    assert load_history(again) == ops


def test_history_encoder_refuses_a_value_the_readers_would_refuse():
    with pytest.raises(RunFileError, match=r"value: field 'amount' must be an integer"):
        encode_event(
            index=0,
            time=0,
            process=0,
            type="invoke",
            f="payout",
            key="p1",
            value={"merchant": "acct_1", "amount": "7.00", "currency": "usd", "attempt": 1},
            error=None,
        )


def faulted_run() -> Run:
    run = Run()
    run.fault("network-timeout", 10, 50)
    run.fault("api-kill", 20, 40, confirmed=False)
    run.fault("replica-lag", 30, None)
    return run


def test_faults_written_by_the_encoder_read_back_as_the_same_windows(tmp_path):
    events = faulted_run().fault_events
    path = tmp_path / FAULTS_FILE
    path.write_bytes(b"".join(encode_fault_event(**event) for event in events))

    windows = load_faults(path)

    assert windows == parse_faults(events)
    assert [window.confirmed for window in windows] == [True, False, None]
    assert parse_faults(_decoded(encode_faults(windows))) == windows


def test_fault_encoder_refuses_a_start_that_claims_confirmation():
    with pytest.raises(RunFileError, match="a start line must have confirmed null"):
        encode_fault_event(
            index=0,
            time=0,
            type="start",
            name="a",
            fault="toxic",
            target="network",
            params={},
            confirmed=True,
            evidence=None,
        )


PROVENANCE = Provenance(
    git_commit="0123abc",
    git_dirty=False,
    seed=7,
    scenario="baseline",
    scenario_file="scenarios/files/baseline.yaml",
    scenario_sha256="90f5",
    defects=["no-row-lock"],
    config={"backend": "local", "invariants": ["liveness"]},
    tools={"python": "3.11.7", "postgres": None},
)


def test_provenance_round_trips_through_its_json_object():
    assert parse_provenance(encode_provenance(PROVENANCE)) == PROVENANCE


def test_provenance_with_a_broken_field_is_named():
    broken = encode_provenance(PROVENANCE) | {"seed": "seven"}

    with pytest.raises(RunFileError, match="provenance: field 'seed' must be an integer"):
        parse_provenance(broken)


def _decoded(lines) -> list[dict]:
    return [json.loads(line) for line in lines]


@settings(max_examples=40, deadline=None)
@given(action_lists)
def test_final_state_written_by_the_campaign_reads_back_the_same(tmp_path_factory, actions):
    document = build(["charge", "retry", *actions]).run.document() | {"quiesced": True}
    run_dir = tmp_path_factory.mktemp("run")
    path = run_dir / FINAL_STATE_FILE

    write_final_state(run_dir, final_state_from_reads(document))

    state = load_final_state(path)
    assert state == parse_final_state(document)
    assert state.quiesced is True
    assert encode_final_state(state) == path.read_bytes()


def test_final_reads_that_break_the_contract_are_kept_as_read_and_named_on_load(tmp_path):
    document = Run().document()
    document["charges"] = [{"id": "ch_1", "amount": "10.00"}]
    path = tmp_path / FINAL_STATE_FILE

    state = final_state_from_reads(document)
    write_final_state(tmp_path, state)

    assert isinstance(state, UncheckedFinalState)
    assert "charges[0]" in str(state.problem)
    assert json.loads(path.read_text()) == document
    with pytest.raises(RunFileError, match=r"charges\[0\]: field 'amount' must be an integer"):
        load_final_state(path)


def test_a_history_value_reads_like_the_json_object_it_was():
    value = parse_history(
        [
            {
                "index": 0,
                "time": 0,
                "process": 0,
                "type": "invoke",
                "f": "payout",
                "key": "p1",
                "value": {"merchant": "acct_1", "amount": 7, "currency": "usd", "attempt": 1},
                "error": None,
            }
        ]
    )[0].invoke_value

    assert (value["amount"], value.get("payment", "p1"), "payment" in value) == (7, "p1", False)
    assert dict(value.items()) == {
        "merchant": "acct_1",
        "amount": 7,
        "currency": "usd",
        "attempt": 1,
    }
    for absent in ("payment", "get", "no_such_field"):
        with pytest.raises(KeyError):
            value[absent]
