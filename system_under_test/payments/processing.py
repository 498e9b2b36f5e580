"""The object inserted PROCESSING with its transitions from PENDING: the part every create
phase's one statement ends with (a charge's, and a debit's after its reservation), as
SQLAlchemy Core that each flow compiles once (payments.sql)."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Table,
    Text,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY

from system_under_test.payments.flow import NewMovement
from system_under_test.payments.sql import json_text
from system_under_test.payments.states import MovementEvent, MovementState, next_state
from system_under_test.schema import transitions

PROCESSING = next_state(MovementState.PENDING, MovementEvent.START_PROCESSING)
# Both steps from PENDING, recorded as the object is created.
_STEPS = ((None, MovementState.PENDING), (MovementState.PENDING, PROCESSING))
ACTOR = "api"
# The columns every movement is created with (`new_values`), each a parameter of its own name.
NEW_COLUMNS = ("id", "merchant_id", "idempotency_key", "deadline", "metadata")


def new_values(new: NewMovement, metadata: Mapping[str, str]) -> dict[str, Any]:
    """The parameters of NEW_COLUMNS for `new`."""
    return {
        "id": new.object_id,
        "merchant_id": new.merchant_id,
        "idempotency_key": new.key,
        "deadline": new.deadline,
        "metadata": json_text(metadata),
    }


def column_parameters(table: Table, names: Iterable[str]) -> dict[str, ColumnElement]:
    """A parameter per column, named and typed as the column (in INSERT ... SELECT a bare
    parameter would be taken as text); a JSONB one takes JSON text (payments.sql.json_text).

    >>> from system_under_test.schema import charges
    >>> column_parameters(charges, ["amount"])["amount"].type
    BigInteger()
    """
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


def inserted_processing(
    object_type: str,
    table: Table,
    values: Mapping[str, ColumnElement],
    *,
    sources: Sequence[FromClause] = (),
) -> tuple[CTE, CTE]:
    """CTEs `created` (the object inserted PROCESSING from `values`, RETURNING every column)
    and `stepped` (both steps from PENDING recorded). With `sources`, the object is inserted
    once per row of their product (none when one has none), and a value may be a column of
    theirs."""
    selected = select(*values.values(), literal(str(PROCESSING), Text))
    if sources:
        selected = selected.select_from(*sources)
    created = (
        insert(table).from_select([*values, "state"], selected).returning(*table.c).cte("created")
    )
    steps = (
        func.unnest(
            literal([None if source is None else str(source) for source, _ in _STEPS], ARRAY(Text)),
            literal([str(target) for _, target in _STEPS], ARRAY(Text)),
        )
        .table_valued("source", "target", with_ordinality="n")
        .render_derived("s")
    )
    stepped = insert(transitions).from_select(
        ["object_type", "object_id", "from_state", "to_state", "actor"],
        select(
            literal(object_type, Text),
            created.c.id,
            steps.c.source,
            steps.c.target,
            literal(ACTOR, Text),
        )
        .select_from(created)
        .join(steps, true())
        .order_by(steps.c.n),
    )
    return created, stepped.cte("stepped")
