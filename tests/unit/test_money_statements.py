"""The money path's named statements, as compiled: the locks and fences each one must keep."""

import re

import pytest
from sqlalchemy import Integer, bindparam, select

from system_under_test.payments.charges import phases as charge_phases
from system_under_test.payments.flows import FLOWS
from system_under_test.payments.movement import RESOLVE
from system_under_test.payments.payouts import phases as payout_phases
from system_under_test.payments.refunds import phases as refund_phases
from system_under_test.payments.sql import compiled


def _cte(text: str, name: str) -> str:
    """The body of the common table expression `name` in a compiled statement."""
    found = re.search(rf"\b{name} AS \n?\((.*?)\)(?:, \n?\w+ AS \n?\(|\n SELECT )", text, re.S)
    assert found is not None, f"no CTE {name}"
    return found.group(1)


@pytest.mark.parametrize("phases", [refund_phases, payout_phases], ids=["refund", "payout"])
def test_a_debit_locks_the_accounts_it_decides_on_unless_the_defect_is_on(phases):
    statements = phases.RESERVATION.statements
    assert _cte(statements[True].text, "locked").endswith("FOR UPDATE")
    # no-row-lock: the balance is read without a lock.
    assert "FOR UPDATE" not in _cte(statements[False].text, "locked")


@pytest.mark.parametrize(("name", "approved"), [(n, a) for n in FLOWS for a in (True, False)])
def test_a_fenced_resolution_unlocks_its_key_and_recovery_leaves_the_lock(name, approved):
    fenced = RESOLVE[name, approved, True].text
    recovery = RESOLVE[name, approved, False].text
    assert "lock_version" in _cte(fenced, "key")
    assert "locked_at=NULL" in _cte(fenced, "finished")
    assert "lock_version" not in _cte(recovery, "key")
    assert "locked_at" not in _cte(recovery, "finished")


def test_a_keyed_charge_is_created_only_once_its_key_advanced():
    keyed = charge_phases.CREATE[True].text
    assert keyed.startswith("WITH key AS \n(UPDATE idempotency_keys")
    assert "FROM key RETURNING" in keyed
    assert "idempotency_keys" not in charge_phases.CREATE[False].text


def test_a_named_statement_takes_exactly_its_parameters():
    statement = compiled(select(bindparam("a", type_=Integer), bindparam("fixed", 2)))
    assert statement.arguments(a=1) == [1, 2]
    with pytest.raises(AssertionError, match="parameters"):
        statement.arguments()
    with pytest.raises(AssertionError, match="parameters"):
        statement.arguments(a=1, b=2)
