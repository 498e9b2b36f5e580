"""Properties of the checkers over generated runs: every run a correct system could produce is
valid, and each known corruption of such a run is invalid on the invariant that owns it.

Runs come from a small model of the payments system (charges approved or declined, refunds
and payouts only when the balance and the charge cover them); Hypothesis shrinks a failure to
the shortest list of actions that shows it.
"""

from dataclasses import dataclass, field

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from invariants import (
    CHECKERS,
    Verdict,
    check_all,
)
from tests.unit.test_invariants_builders import (
    AMOUNT,
    PAYOUT_AMOUNT,
    REFUND_AMOUNT,
    Run,
)

ACTIONS = ("charge", "decline", "refund", "payout", "retry", "read")


@dataclass
class ModelRun:
    """A run built by the model, and what it holds."""

    run: Run = field(default_factory=Run)
    paid: list[str] = field(default_factory=list)
    refundable: dict[str, int] = field(default_factory=dict)
    debits: list[str] = field(default_factory=list)
    balance: int = 0


def build(actions: list[str]) -> ModelRun:
    """Apply the actions a correct system would accept; skip those it would refuse."""
    model = ModelRun()
    for number, action in enumerate(actions):
        if action == "charge":
            charge_id = f"ch_{number}"
            model.run.paid(f"k{number}", charge_id)
            model.paid.append(charge_id)
            model.refundable[charge_id] = AMOUNT
            model.balance += AMOUNT
        elif action == "retry":
            # The last paid key sent again after a timeout: the retry replays its answer.
            charge_id = model.paid[-1]
            key = f"k{charge_id.removeprefix('ch_')}"
            model.run.op(key, "info")
            model.run.op(key, "ok", charge_id=charge_id)
        elif action == "read":
            # The last paid charge read back after its acknowledgement: it is there.
            charge_id = model.paid[-1]
            model.run.read_op(f"k{charge_id.removeprefix('ch_')}", "charge", charge_id)
        elif action == "decline":
            model.run.op(f"k{number}", "fail", charge_id=f"ch_{number}", error="card_declined")
            model.run.charge(f"ch_{number}", f"k{number}", "FAILED")
            model.run.authorization(f"ch_{number}", "declined")
        elif action == "refund":
            charge_id = next((c for c in model.paid if model.refundable[c] >= REFUND_AMOUNT), None)
            if charge_id is None or model.balance < REFUND_AMOUNT:
                continue
            model.run.refunded(f"r{number}", f"re_{number}", charge_id)
            model.refundable[charge_id] -= REFUND_AMOUNT
            model.balance -= REFUND_AMOUNT
            model.debits.append(f"re_{number}")
        elif model.balance >= PAYOUT_AMOUNT:
            model.run.paid_out(f"p{number}", f"po_{number}")
            model.balance -= PAYOUT_AMOUNT
            model.debits.append(f"po_{number}")
    return model


def verdicts(run: Run, document: dict | None = None) -> dict[str, Verdict]:
    results = check_all(run.inputs(document), list(CHECKERS))
    return {result.name: result.verdict for result in results}


action_lists = st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(action_lists)
def test_every_run_of_a_correct_system_is_valid(actions):
    model = build(["charge", "retry", *actions])
    found = verdicts(model.run)
    # A run without a refund or payout has no debit decision to check: unknown, says so.
    if not model.debits:
        assert found.pop("no_stale_balance_approval") is Verdict.UNKNOWN
    assert set(found.values()) == {Verdict.VALID}, found


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data())
def test_a_second_approval_is_a_double_charge(actions, data):
    model = build(["charge", *actions])
    model.run.authorization(data.draw(st.sampled_from(model.paid)))
    assert verdicts(model.run)["no_double_charge"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data())
def test_a_vanished_charge_is_a_lost_write(actions, data):
    model = build(["charge", *actions])
    lost = data.draw(st.sampled_from(model.paid))
    # Its refunds go with it from the primary: they would name a missing charge anyway.
    model.run.charges[:] = [row for row in model.run.charges if row["id"] != lost]
    model.run.refunds[:] = [row for row in model.run.refunds if row["charge_id"] != lost]
    assert verdicts(model.run)["no_lost_write"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data(), st.integers(min_value=1, max_value=10 * AMOUNT))
def test_a_decision_on_another_balance_is_stale(actions, data, offset):
    model = build(["charge", *actions])
    assume(model.debits)
    document = model.run.document()
    debit = data.draw(st.sampled_from(model.debits))
    for row in document["refunds"] + document["payouts"]:
        if row["id"] == debit:
            row["balance_seen"] += offset
    assert verdicts(model.run, document)["no_stale_balance_approval"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data(), st.integers(min_value=1, max_value=AMOUNT))
def test_a_balance_without_entries_breaks_conservation(actions, data, amount):
    model = build(["charge", *actions])
    document = model.run.document()
    account = data.draw(st.sampled_from(document["ledger_accounts"]))
    account["balance"] += amount
    assert verdicts(model.run, document)["ledger_conservation"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data())
def test_a_movement_the_network_never_made_is_unreconciled(actions, data):
    model = build(["charge", *actions])
    assume(model.debits)
    missing = data.draw(st.sampled_from(model.debits))
    for records in (model.run.network_refunds, model.run.network_payouts):
        records[:] = [record for record in records if record["reference"] != missing]
    assert verdicts(model.run)["network_reconciliation"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data())
def test_a_retry_told_of_another_charge_breaks_replay(actions, data):
    model = build(["charge", *actions])
    charge_id = data.draw(st.sampled_from(model.paid))
    model.run.op(f"k{charge_id.removeprefix('ch_')}", "ok", charge_id="ch_other")
    assert verdicts(model.run)["idempotent_replay"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data())
def test_a_read_back_that_misses_an_acknowledged_charge_is_a_lost_write(actions, data):
    model = build(["charge", *actions])
    charge_id = data.draw(st.sampled_from(model.paid))
    model.run.read_op(f"k{charge_id.removeprefix('ch_')}", "charge", charge_id, outcome="missing")
    assert verdicts(model.run)["no_lost_write"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data())
def test_a_charge_credited_twice_is_beyond_the_bound(actions, data):
    model = build(["charge", *actions])
    document = model.run.document()
    charge_id = data.draw(st.sampled_from(model.paid))
    entries = [entry for entry in document["ledger_entries"] if entry["object_id"] == charge_id]
    transaction_id = 1 + max(entry["transaction_id"] for entry in document["ledger_entries"])
    for entry in entries:
        document["ledger_entries"].append(
            entry | {"id": len(document["ledger_entries"]) + 1, "transaction_id": transaction_id}
        )
    assert verdicts(model.run, document)["no_lost_write"] is Verdict.INVALID


@settings(max_examples=60, deadline=None)
@given(action_lists, st.data())
def test_a_movement_that_skipped_processing_is_an_illegal_transition(actions, data):
    model = build(["charge", *actions])
    document = model.run.document()
    object_id = data.draw(st.sampled_from([*model.paid, *model.debits]))
    steps = [step for step in document["transitions"] if step["object_id"] == object_id]
    document["transitions"].remove(steps[1])
    steps[2]["from_state"] = "PENDING"
    assert verdicts(model.run, document)["legal_state_transitions"] is Verdict.INVALID
