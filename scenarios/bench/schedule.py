"""The seeded open-loop plan of one step of the ladder: every request, its kind and the moment
it is due, fixed before the step starts (pure, no I/O).

Charges, refunds and payouts arrive as three independent Poisson streams: charges at the
step's offered rate, refunds and payouts at a share of it. An open loop sends each request at
its due time whatever the earlier ones did, so a slow answer cannot hold back the requests
behind it and hide its own latency (coordinated omission).
"""

import random
from dataclasses import dataclass

KINDS = ("charge", "refund", "payout")
# Charge amounts in cents: above every currency's minimum, small beside the funding.
CHARGE_AMOUNT_MIN = 500
CHARGE_AMOUNT_MAX = 5000
# Refunds and payouts take a fixed small amount: every charge covers it, and the funding
# covers every payout of a run many times over.
DEBIT_AMOUNT = 100
# The issuer's answers the workload meets, as in the baseline scenario: most approve.
CARD_SHARES = {
    "tok_visa": 0.85,
    "tok_chargeDeclined": 0.10,
    "tok_chargeDeclinedInsufficientFunds": 0.05,
}


@dataclass(frozen=True)
class Planned:
    """One request of a step: due `due_s` seconds after the step starts."""

    due_s: float
    kind: str
    merchant_index: int
    amount: int
    # The test token of a charge; None for refunds and payouts.
    card: str | None
    key: str


@dataclass(frozen=True)
class StepPlan:
    rate_per_s: float
    duration_s: float
    requests: tuple[Planned, ...]

    def offered(self, kind: str) -> int:
        """How many requests of `kind` the step offers."""
        return sum(1 for request in self.requests if request.kind == kind)


def _arrivals(rng: random.Random, rate_per_s: float, duration_s: float) -> list[float]:
    """Poisson arrival times in [0, duration_s) at `rate_per_s`."""
    times: list[float] = []
    if rate_per_s <= 0:
        return times
    moment = rng.expovariate(rate_per_s)
    while moment < duration_s:
        times.append(moment)
        moment += rng.expovariate(rate_per_s)
    return times


def plan_step(
    *,
    seed: int,
    label: str,
    rate_per_s: float,
    duration_s: float,
    merchant_count: int,
    debit_share: float,
) -> StepPlan:
    """The requests of one step: charges at `rate_per_s`, refunds and payouts each at
    `debit_share` of it, keys unique to (`label`, request). Same arguments, same plan.

    >>> plan = plan_step(seed=7, label="s1", rate_per_s=100, duration_s=2, merchant_count=2,
    ...                  debit_share=0.1)
    >>> plan == plan_step(seed=7, label="s1", rate_per_s=100, duration_s=2, merchant_count=2,
    ...                   debit_share=0.1)
    True
    >>> 150 < plan.offered("charge") < 250 and plan.offered("payout") < plan.offered("charge")
    True
    """
    assert rate_per_s >= 0, f"rate {rate_per_s} is negative"
    assert duration_s > 0, f"duration {duration_s} is not positive"
    assert merchant_count >= 1, "a step needs a merchant"
    assert 0 <= debit_share <= 1, f"debit share {debit_share} is not in [0, 1]"
    rng = random.Random(f"{seed}:{label}:{rate_per_s}:{duration_s}")
    cards, weights = list(CARD_SHARES), list(CARD_SHARES.values())
    rates = {
        "charge": rate_per_s,
        "refund": rate_per_s * debit_share,
        "payout": rate_per_s * debit_share,
    }
    timed: list[tuple[float, str]] = []
    for kind in KINDS:
        timed += [(moment, kind) for moment in _arrivals(rng, rates[kind], duration_s)]
    timed.sort()
    requests = []
    for number, (due_s, kind) in enumerate(timed):
        charge = kind == "charge"
        requests.append(
            Planned(
                due_s=due_s,
                kind=kind,
                merchant_index=rng.randrange(merchant_count),
                amount=rng.randint(CHARGE_AMOUNT_MIN, CHARGE_AMOUNT_MAX)
                if charge
                else DEBIT_AMOUNT,
                card=rng.choices(cards, weights)[0] if charge else None,
                key=f"bench-{seed}-{label}-{number}",
            )
        )
    return StepPlan(rate_per_s, duration_s, tuple(requests))
