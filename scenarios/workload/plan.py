"""The seeded charge workload as plain data: the same seed gives the same charges."""

import random
from dataclasses import dataclass

from scenarios.scenario import Workload


@dataclass(frozen=True)
class PlannedCharge:
    client: int
    number: int
    key: str
    merchant_index: int
    amount: int
    card: str
    # Seconds after the workload starts at which the first attempt is due.
    due_s: float


def plan_charges(workload: Workload, *, scenario: str, seed: int) -> list[list[PlannedCharge]]:
    """One list of charges per client, spread evenly over the run at `rate_per_s` in all.

    Keys are unique within a run (a fresh topology each run), so they need no run id.

    >>> from scenarios.scenario import RetryPolicy
    >>> w = Workload(2, 4.0, 1.0, 1, "usd", 100, 100, {"4242424242424242": 1.0}, 5.0, RetryPolicy())
    >>> [[c.key for c in plan] for plan in plan_charges(w, scenario="s", seed=1)]
    [['s-1-c0-0', 's-1-c0-1'], ['s-1-c1-0', 's-1-c1-1']]
    """
    cards = list(workload.cards)
    weights = [workload.cards[card] for card in cards]
    # Slot k is due at k / rate and goes to client k mod clients: round-robin at the rate.
    total = round(workload.rate_per_s * workload.duration_s)
    generators = [random.Random(f"{seed}:{client}") for client in range(workload.clients)]
    plans: list[list[PlannedCharge]] = [[] for _ in range(workload.clients)]
    for slot in range(total):
        client = slot % workload.clients
        generator = generators[client]
        number = len(plans[client])
        plans[client].append(
            PlannedCharge(
                client=client,
                number=number,
                key=f"{scenario}-{seed}-c{client}-{number}",
                merchant_index=generator.randrange(workload.merchants),
                amount=generator.randint(workload.amount_min, workload.amount_max),
                card=generator.choices(cards, weights)[0],
                due_s=slot / workload.rate_per_s,
            )
        )
    return plans
