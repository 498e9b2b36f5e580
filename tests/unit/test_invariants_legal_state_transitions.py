"""legal_state_transitions on hand-written final states: each anomaly class, the clean run, the
cases that must stay unknown, and the legal table held equal to the SUT's state machine."""

import pytest

from invariants import Verdict, check_all
from invariants.checkers import legal_state_transitions as legal
from invariants.checkers import no_lost_write
from invariants.model.run import RunInputs
from system_under_test.payments.states import FINAL_STATES, TRANSITIONS, MovementState
from tests.unit.test_invariants_builders import Run, clean_run, final_document, kinds


def steps_of(document: dict, object_id: str) -> list[dict]:
    return [step for step in document["transitions"] if step["object_id"] == object_id]


def test_the_legal_table_is_the_suts_state_machine():
    sut_steps = {(str(source), str(target)) for (source, _), target in TRANSITIONS.items()}
    created = {target for source, target in legal.LEGAL_TRANSITIONS if source is None}
    # The SUT creates an object in the one state that no event leads into.
    sut_created = {str(state) for state in MovementState} - {str(t) for t in TRANSITIONS.values()}

    assert legal.LEGAL_TRANSITIONS - {(None, legal.CREATION_STATE)} == sut_steps
    assert created == sut_created == {legal.CREATION_STATE}
    assert {str(state) for state in FINAL_STATES} == legal.TERMINAL_STATES


def test_clean_run_is_valid():
    assert clean_run().check(legal.check).verdict is Verdict.VALID


def test_a_step_the_machine_does_not_allow_is_illegal():
    # Skipping PROCESSING: the network heard of the charge before recovery could.
    run = clean_run()
    document = run.document()
    for step in steps_of(document, "ch_2"):
        if step["to_state"] == "PROCESSING":
            document["transitions"].remove(step)
    steps_of(document, "ch_2")[-1]["from_state"] = "PENDING"

    result = legal.check(run.inputs(document))

    assert kinds(result) == ["illegal_charge_transition"]
    evidence = result.anomalies[0].evidence
    assert evidence["charge_id"] == "ch_2"
    assert [step["to_state"] for step in evidence["transitions"]] == ["PENDING", "SUCCEEDED"]
    assert evidence["op_indexes"] and "faults_active" in evidence


def test_a_chain_that_does_not_start_at_creation():
    run = clean_run()
    document = run.document()
    document["transitions"].remove(steps_of(document, "po_1")[0])

    assert kinds(legal.check(run.inputs(document))) == ["payout_chain_not_from_creation"]


def test_a_chain_with_a_gap_is_broken():
    run = clean_run()
    document = run.document()
    steps_of(document, "re_1")[2]["from_state"] = "PENDING"

    result = legal.check(run.inputs(document))

    # PENDING -> SUCCEEDED is no legal step either.
    assert kinds(result) == ["illegal_refund_transition", "refund_chain_broken"]


@pytest.mark.parametrize(
    ("from_state", "to_state", "expected"),
    [
        # Failed after it succeeded: the charge's money was settled, then undone.
        ("SUCCEEDED", "FAILED", ["illegal_charge_transition"]),
        # Resolved twice: each resolution posts the charge's money.
        ("PROCESSING", "SUCCEEDED", ["charge_chain_broken"]),
    ],
)
def test_two_terminal_states_are_one_too_many(from_state, to_state, expected):
    run = clean_run()
    document = run.document()
    last = steps_of(document, "ch_1")[-1]
    document["transitions"].append(
        last | {"id": 1000, "from_state": from_state, "to_state": to_state, "actor": "recovery"}
    )
    document["charges"][0]["state"] = to_state

    result = legal.check(run.inputs(document))

    assert kinds(result) == [*expected, "charge_multiple_terminal_states"]
    assert "SUCCEEDED then" in result.anomalies[-1].message


def test_a_row_whose_state_is_not_its_last_transitions():
    run = clean_run()
    document = run.document()
    document["charges"][2]["state"] = "SUCCEEDED"

    assert kinds(legal.check(run.inputs(document))) == ["charge_state_differs_from_transitions"]


def test_a_row_without_transitions():
    run = clean_run()
    document = run.document()
    document["transitions"] = [
        step for step in document["transitions"] if step["object_id"] != "ch_3"
    ]

    result = legal.check(run.inputs(document))

    assert kinds(result) == ["charge_without_transitions"]
    assert result.anomalies[0].evidence["charges"][0]["id"] == "ch_3"


@pytest.mark.parametrize(
    ("object_type", "kind"),
    [("refund", "transitions_without_refund"), ("card", "transitions_of_unknown_object_type")],
)
def test_transitions_without_an_object(object_type, kind):
    run = clean_run()
    document = run.document()
    document["transitions"].append(
        {
            "id": 1000,
            "object_type": object_type,
            "object_id": "re_gone",
            "from_state": None,
            "to_state": "PENDING",
            "actor": "api",
        }
    )

    result = legal.check(run.inputs(document))

    assert kinds(result) == [kind]
    assert result.anomalies[0].evidence["object_id"] == "re_gone"


def test_a_final_state_without_transitions_is_unknown_and_the_others_still_check():
    run = clean_run()
    document = run.document()
    del document["transitions"]
    inputs = run.inputs(document)

    assert inputs.final_state.transitions is None
    assert legal.check(inputs).verdict is Verdict.UNKNOWN
    assert "no transitions were read" in legal.check(inputs).error
    assert no_lost_write.check(inputs).verdict is Verdict.VALID


def test_a_run_without_movements_is_unknown():
    result = legal.check(Run().inputs(final_document()))

    assert result.verdict is Verdict.UNKNOWN
    assert "no charge, refund or payout" in result.error


def test_missing_transitions_do_not_count_when_reads_are_incomplete():
    run = clean_run()
    run.complete = False
    document = run.document()
    document["transitions"] = []

    result = legal.check(run.inputs(document))

    assert result.verdict is Verdict.UNKNOWN
    assert result.anomalies == ()


def test_it_runs_without_a_readable_history():
    run = clean_run()
    inputs = run.inputs()
    unreadable = RunInputs([], [], inputs.final_state, ("history unreadable",), False)

    (result,) = check_all(unreadable, [legal.NAME])

    assert result.verdict is Verdict.VALID
