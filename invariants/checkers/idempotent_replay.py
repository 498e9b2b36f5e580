"""idempotent_replay: a key's answers are one answer, given to one request.

For each (merchant, kind, key) of the writes, from the history alone:

- every ``ok`` answer names the same object, amount and status (a replay repeats the stored
  answer; it never reports another object);
- an ``ok`` answer is only given to the parameters the key was first sent with (other
  parameters must be refused with an ``idempotency_error``);
- at most one ``ok`` answer is not a replay (``replayed: false``): a second one means the key
  ran twice.

A run in which no key was sent more than once has no replay to check: unknown, not valid.

Anomaly kinds: ``replay_differs``, ``other_parameters_accepted``, ``key_ran_twice``.
"""

from collections.abc import Iterator

from invariants.evidence import op_evidence
from invariants.joins import MovementJoin
from invariants.model.faults import FaultTimeline
from invariants.model.history import Op
from invariants.model.run import RunInputs
from invariants.movements import MOVEMENT_KINDS, MovementKind
from invariants.verdict import Anomaly, InvariantResult, Verdict, decide

NAME = "idempotent_replay"
# Invoke fields that are the request itself; `attempt` and `payment` describe the client.
CLIENT_FIELDS = frozenset({"attempt", "payment"})


def check(run: RunInputs) -> InvariantResult:
    """Check every retried key's answers against each other and its first parameters."""
    timeline = run.timeline
    anomalies: list[Anomaly] = []
    retried = 0
    for kind in MOVEMENT_KINDS:
        for scope, key_ops in MovementJoin.of(run, kind).ops_by_scope.items():
            if len(key_ops) < 2:
                continue
            retried += 1
            anomalies += _key(kind, scope, key_ops, timeline)
    if not retried and not anomalies:
        return InvariantResult(
            NAME, Verdict.UNKNOWN, error="no key was sent more than once: no replay to check"
        )
    return decide(NAME, anomalies)


def _request(op: Op) -> dict:
    assert op.invoke_value is not None, "every invoke carries a value (history contract)"
    return {name: value for name, value in op.invoke_value.items() if name not in CLIENT_FIELDS}


def _answer(kind: MovementKind, op: Op) -> tuple:
    assert op.completion_value is not None, "an ok carries a value (history contract)"
    value = op.completion_value
    return value[kind.id_field], value["amount"], value["status"]


def _key(
    kind: MovementKind, scope: tuple[str, str], key_ops: list[Op], timeline: FaultTimeline
) -> Iterator[Anomaly]:
    merchant, key = scope
    first_request = _request(key_ops[0])
    oks = [op for op in key_ops if op.type == "ok"]
    evidence = {
        "movement": kind.name,
        "merchant": merchant,
        "key": key,
        "ops": [op_evidence(op, timeline) for op in key_ops],
    }
    answers = {_answer(kind, op) for op in oks}
    if len(answers) > 1:
        listed = "; ".join(f"{i} of {a} ({s})" for i, a, s in sorted(answers))
        yield Anomaly(
            "replay_differs",
            f"{kind.name} key {key!r} of {merchant} was answered ok {len(answers)} different "
            f"ways: {listed}. A client that retried was told of another {kind.name} than the "
            "one its first answer named, so its books and the platform's disagree.",
            evidence,
        )
    for op in oks:
        if _request(op) != first_request:
            yield Anomaly(
                "other_parameters_accepted",
                f"{kind.name} key {key!r} of {merchant} answered ok at op {op.invoke_index} to "
                f"parameters {_request(op)} after it was first sent with {first_request}: "
                "other parameters under one key must be refused, or a changed amount is "
                "silently ignored or applied.",
                evidence,
            )
    fresh = [op for op in oks if not op.completion_value.get("replayed", False)]
    if len(fresh) > 1:
        yield Anomaly(
            "key_ran_twice",
            f"{kind.name} key {key!r} of {merchant} was answered as new {len(fresh)} times "
            f"(ops {', '.join(str(op.invoke_index) for op in fresh)}): the key ran more than "
            "once instead of replaying its stored answer.",
            evidence,
        )
