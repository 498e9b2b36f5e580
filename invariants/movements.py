"""The three kinds of money movement (charge, refund, payout) as one table.

Each kind names its history function, its rows on the primary, its records on the network and
the words its anomalies and evidence use, so that every checker runs one code path over the
table instead of one copy per kind.

>>> [kind.name for kind in MOVEMENT_KINDS]
['charge', 'refund', 'payout']
>>> (REFUND.plural, REFUND.record_plural, CHARGE.record_plural)
('refunds', 'network_refunds', 'authorizations')
"""

from collections.abc import Sequence
from dataclasses import dataclass

from invariants.model.final_state import ROW_LISTS, FinalState, Movement, NetworkRecord
from invariants.model.history_values import HISTORY_FUNCTIONS, WRITE_FUNCTIONS


@dataclass(frozen=True)
class MovementKind:
    """One kind of money movement and where its facts are found."""

    # The history function ``f`` of its writes, and the noun of its anomalies: "refund".
    name: str
    # The noun of its network records: "network_refund" (a charge's are "authorization").
    record_name: str
    # The final state's list of those records: "network_refunds".
    record_list: str
    # Invoke fields the object must carry too, besides merchant and key: a refund's charge_id.
    invoke_fields: tuple[str, ...]

    @property
    def id_field(self) -> str:
        """How ok and fail values name the object: "refund_id"."""
        return f"{self.name}_id"

    @property
    def plural(self) -> str:
        """The final state's list of its objects, and their key in evidence: "refunds"."""
        return f"{self.name}s"

    @property
    def record_plural(self) -> str:
        """The key of its network records in evidence: "network_refunds"."""
        return f"{self.record_name}s"

    def objects(self, state: FinalState) -> Sequence[Movement]:
        """Its rows in the final state: ``state.refunds``."""
        return getattr(state, self.plural)

    def records(self, state: FinalState) -> Sequence[NetworkRecord]:
        """Its network records in the final state: ``state.network_refunds``."""
        return getattr(state, self.record_list)


CHARGE = MovementKind(
    name="charge",
    record_name="authorization",
    record_list="network_authorizations",
    invoke_fields=(),
)
REFUND = MovementKind(
    name="refund",
    record_name="network_refund",
    record_list="network_refunds",
    invoke_fields=("charge_id",),
)
PAYOUT = MovementKind(
    name="payout",
    record_name="network_payout",
    record_list="network_payouts",
    invoke_fields=(),
)
MOVEMENT_KINDS = (CHARGE, REFUND, PAYOUT)


def _assert_table_matches_run_files() -> None:
    # The table names history functions and final state lists: keep them in step.
    assert {kind.name for kind in MOVEMENT_KINDS} == WRITE_FUNCTIONS, "writes are movements"
    for kind in MOVEMENT_KINDS:
        assert kind.name in HISTORY_FUNCTIONS, f"{kind.name} is no history function"
        assert kind.plural in ROW_LISTS, f"{kind.plural} is no final state list"
        assert kind.record_list in ROW_LISTS, f"{kind.record_list} is no final state list"


_assert_table_matches_run_files()
