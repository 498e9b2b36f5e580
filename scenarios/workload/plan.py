"""The seeded workload as plain data: the same seed gives the same ops, at the same times.

Each client gets its own list of planned ops (charges, refunds, payouts, balance reads) in
due order. A refund names an earlier planned charge of the same client by its key; whether
that charge succeeded is only known when the run gets there.
"""

import random
from dataclasses import dataclass

from scenarios.scenario import Workload

# Cards the network approves; a refund is only planned against a charge made with one of these.
APPROVED_CARDS = frozenset({"4242424242424242"})


@dataclass(frozen=True)
class PlannedOp:
    kind: str  # "charge" | "refund" | "payout" | "balance"
    client: int
    number: int
    # The idempotency key of a write; a unique op key for a balance read.
    key: str
    merchant_index: int
    # Seconds after the workload starts at which the first attempt is due.
    due_s: float
    # A charge's or payout's amount; a partial refund's amount; None for a full refund.
    amount: int | None = None
    card: str | None = None
    # The key of the planned charge that a refund refunds.
    refund_of: str | None = None


def plan_ops(workload: Workload, *, scenario: str, seed: int) -> list[list[PlannedOp]]:
    """One list of ops per client, spread evenly over the run at `rate_per_s` in all.

    Keys are unique within a run (a fresh topology each run), so they need no run id.

    >>> from scenarios.scenario import RetryPolicy
    >>> w = Workload(2, 4.0, 1.0, 1, "usd", 100, 100, {"4242424242424242": 1.0}, 5.0, RetryPolicy())
    >>> [[op.key for op in plan] for plan in plan_ops(w, scenario="s", seed=1)]
    [['s-1-c0-0', 's-1-c0-1'], ['s-1-c1-0', 's-1-c1-1']]
    """
    kinds = [kind for kind, weight in workload.mix.items() if weight > 0]
    weights = [workload.mix[kind] for kind in kinds]
    # Slot k is due at k / rate and goes to client k mod clients: round-robin at the rate.
    total = round(workload.rate_per_s * workload.duration_s)
    generators = [random.Random(f"{seed}:{client}") for client in range(workload.clients)]
    plans: list[list[PlannedOp]] = [[] for _ in range(workload.clients)]
    for slot in range(total):
        client = slot % workload.clients
        plan = plans[client]
        generator = generators[client]
        kind = generator.choices(kinds, weights)[0]
        common = {
            "client": client,
            "number": len(plan),
            "key": f"{scenario}-{seed}-c{client}-{len(plan)}",
            "due_s": slot / workload.rate_per_s,
        }
        plan.append(_planned(kind, common, workload, generator, plan))
    return plans


def _planned(
    kind: str,
    common: dict,
    workload: Workload,
    generator: random.Random,
    earlier: list[PlannedOp],
) -> PlannedOp:
    merchant_index = generator.randrange(workload.merchants)
    if kind == "refund":
        refundable = [op for op in earlier if op.kind == "charge" and op.card in APPROVED_CARDS]
        if refundable:
            charge = generator.choice(refundable)
            assert charge.amount is not None
            full = generator.random() < workload.full_refund_share
            amount = None if full else generator.randint(1, charge.amount)
            return PlannedOp(
                "refund",
                **common,
                merchant_index=charge.merchant_index,
                amount=amount,
                refund_of=charge.key,
            )
        # Nothing to refund yet: charge instead, so the op count and timing stay as planned.
        kind = "charge"
    if kind == "charge":
        cards = list(workload.cards)
        card = generator.choices(cards, [workload.cards[card] for card in cards])[0]
        amount = generator.randint(workload.amount_min, workload.amount_max)
        return PlannedOp(
            "charge", **common, merchant_index=merchant_index, amount=amount, card=card
        )
    if kind == "payout":
        amount = generator.randint(workload.amount_min, workload.amount_max)
        return PlannedOp("payout", **common, merchant_index=merchant_index, amount=amount)
    assert kind == "balance", f"unknown op kind {kind!r}"
    return PlannedOp("balance", **common, merchant_index=merchant_index)
