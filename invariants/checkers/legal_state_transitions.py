"""legal_state_transitions: every movement went through its state machine, step by recorded step,
to exactly one terminal state.

The SUT records each step of a charge, refund or payout in its ``transitions`` table, in the
same statement as the state change. The legal steps are written here, not imported from the
SUT, so that this check is independent ground truth (a unit test holds them equal to the
SUT's table):

    (created) -> PENDING -> PROCESSING -> SUCCEEDED | FAILED

For every object of each kind, its transitions in id order must:

- be legal steps (``illegal_{kind}_transition``);
- start with its creation (``{kind}_chain_not_from_creation``) and form one chain, each step
  leaving the state the previous one entered (``{kind}_chain_broken``);
- reach a terminal state at most once (``{kind}_multiple_terminal_states``);
- end in the state its row holds (``{kind}_state_differs_from_transitions``).

Every row has transitions (``{kind}_without_transitions``) and every transition a row
(``transitions_without_{kind}``, or ``transitions_of_unknown_object_type``).

It reads the final state only. Unknown when no transitions were read (a final state written
before they were), when the run made no movement at all, or when the reads were incomplete
and nothing was found.
"""

from collections.abc import Iterator, Sequence
from itertools import pairwise

from msgspec.structs import asdict

from invariants.joins import MovementJoin, join_movements
from invariants.model.final_state import FinalState, Movement, Transition
from invariants.model.run import RunInputs
from invariants.movements import MOVEMENT_KINDS
from invariants.verdict import Anomaly, InvariantResult, Verdict, decide

NAME = "legal_state_transitions"
CREATION_STATE = "PENDING"
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED"})
# (from_state, to_state); None is "not yet created".
LEGAL_TRANSITIONS = frozenset(
    {
        (None, CREATION_STATE),
        ("PENDING", "PROCESSING"),
        ("PROCESSING", "SUCCEEDED"),
        ("PROCESSING", "FAILED"),
    }
)

ObjectRef = tuple[str, str]  # (object_type, object_id)


def check(run: RunInputs) -> InvariantResult:
    """Check every object's recorded transitions against the legal state machine and its row."""
    state = run.final_state
    if state.transitions is None:
        return InvariantResult(
            NAME, Verdict.UNKNOWN, error="no transitions were read (a final state without them)"
        )
    if not state.transitions and not any(kind.objects(state) for kind in MOVEMENT_KINDS):
        return InvariantResult(
            NAME,
            Verdict.UNKNOWN,
            error=state.incomplete_reason or "no charge, refund or payout: no transition to check",
        )
    chains = _chains(state.transitions)
    anomalies: list[Anomaly] = []
    for join in join_movements(run):
        for movement in join.movements:
            chain = chains.pop((join.kind.name, movement.id), [])
            anomalies += _object(join, movement, chain, state.reads_complete)
    anomalies += _orphan_chains(chains, state)
    return decide(NAME, anomalies, undecided_reason=state.incomplete_reason)


def _chains(transitions: Sequence[Transition]) -> dict[ObjectRef, list[Transition]]:
    """Each object's transitions, in the order they were recorded."""
    chains: dict[ObjectRef, list[Transition]] = {}
    for transition in sorted(transitions, key=lambda row: row.id):
        chains.setdefault((transition.object_type, transition.object_id), []).append(transition)
    return chains


def _object(
    join: MovementJoin, movement: Movement, chain: list[Transition], reads_complete: bool
) -> Iterator[Anomaly]:
    kind = join.kind.name
    what = f"{kind} {movement.id} ({movement.amount} {movement.currency}, {movement.state})"
    if not chain:
        if reads_complete:
            yield _anomaly(
                join,
                movement,
                chain,
                f"{kind}_without_transitions",
                f"The {what} has no recorded transition: it reached its state with no trail, "
                "so nobody can tell how, or whether, its money moved.",
            )
        return
    for step in chain:
        if (step.from_state, step.to_state) not in LEGAL_TRANSITIONS:
            yield _anomaly(
                join,
                movement,
                chain,
                f"illegal_{kind}_transition",
                f"The {what} stepped from {step.from_state or '(created)'} to {step.to_state} "
                f"(transition {step.id}, by {step.actor}), which its state machine does not "
                "allow: a step that skips PROCESSING sends money before recovery can see it, "
                "and one that leaves a final state changes money already settled.",
            )
    yield from _chain_shape(join, movement, chain, what)


def _chain_shape(
    join: MovementJoin, movement: Movement, chain: list[Transition], what: str
) -> Iterator[Anomaly]:
    kind = join.kind.name
    first = chain[0]
    if (first.from_state, first.to_state) != (None, CREATION_STATE):
        yield _anomaly(
            join,
            movement,
            chain,
            f"{kind}_chain_not_from_creation",
            f"The transitions of the {what} begin with {first.from_state} -> {first.to_state}, "
            f"not with its creation in {CREATION_STATE}: its first steps went unrecorded.",
        )
    breaks = [
        (before, after) for before, after in pairwise(chain) if after.from_state != before.to_state
    ]
    if breaks:
        before, after = breaks[0]
        yield _anomaly(
            join,
            movement,
            chain,
            f"{kind}_chain_broken",
            f"The transitions of the {what} are not one chain: transition {after.id} leaves "
            f"{after.from_state}, but the one before it entered {before.to_state} "
            f"({len(breaks)} such break(s)): a state change went unrecorded or was made twice.",
        )
    terminal = [step.to_state for step in chain if step.to_state in TERMINAL_STATES]
    if len(terminal) > 1:
        yield _anomaly(
            join,
            movement,
            chain,
            f"{kind}_multiple_terminal_states",
            f"The {what} reached a terminal state {len(terminal)} times "
            f"({' then '.join(terminal)}): it was resolved more than once, so its money may "
            "have been posted twice, or given back after it moved.",
        )
    if chain[-1].to_state != movement.state:
        yield _anomaly(
            join,
            movement,
            chain,
            f"{kind}_state_differs_from_transitions",
            f"The {what} is {movement.state} on its row, but its last recorded transition "
            f"entered {chain[-1].to_state}: its state changed without a record, or the "
            "record without the state, so its postings follow a state nobody recorded.",
        )


def _orphan_chains(
    chains: dict[ObjectRef, list[Transition]], state: FinalState
) -> Iterator[Anomaly]:
    """Transitions whose object is not on the primary (judged only on complete reads)."""
    if not state.reads_complete:
        return
    kinds = {kind.name for kind in MOVEMENT_KINDS}
    for (object_type, object_id), chain in chains.items():
        steps = " -> ".join(step.to_state for step in chain)
        if object_type in kinds:
            kind = f"transitions_without_{object_type}"
            problem = f"which is no {object_type} on the primary"
        else:
            kind = "transitions_of_unknown_object_type"
            problem = f"of type {object_type!r}, which is no kind of movement"
        yield Anomaly(
            kind,
            f"{len(chain)} transition(s) ({steps}) were recorded for {object_id}, {problem}: "
            "the object was lost after its steps were recorded, and any money it moved is on "
            "no row.",
            {
                "object_type": object_type,
                "object_id": object_id,
                "transitions": [asdict(step) for step in chain],
            },
        )


def _anomaly(
    join: MovementJoin,
    movement: Movement,
    chain: list[Transition],
    kind: str,
    message: str,
) -> Anomaly:
    evidence = {
        **join.movement_evidence(movement),
        "transitions": [asdict(step) for step in chain],
    }
    return Anomaly(kind, message, evidence)
