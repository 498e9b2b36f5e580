"""Hand-written runs for the invariants and reports tests (builders only, no tests here)."""

from dataclasses import dataclass, field

from invariants import (
    FinalState,
    InvariantResult,
    RunInputs,
    parse_faults,
    parse_final_state,
    parse_history,
)
from system_under_test.payments.ledger import POSTINGS

MERCHANT = "acct_1"
AMOUNT = 1000
REFUND_AMOUNT = 400
PAYOUT_AMOUNT = 700
# Each history event is this much later than the previous one.
STEP_NS = 1_000_000

# The lists of final_state.json; the builders fill the movement and network ones.
FINAL_STATE_LISTS = (
    "charges",
    "refunds",
    "payouts",
    "idempotency_keys",
    "ledger_accounts",
    "ledger_entries",
    "transitions",
    "network_authorizations",
    "network_refunds",
    "network_payouts",
)


def final_document(*, complete: bool = True, errors=(), read_time: int = 0, **lists) -> dict:
    """A final_state.json document; lists not given are empty."""
    unknown = set(lists) - set(FINAL_STATE_LISTS)
    assert not unknown, f"no such final state lists: {sorted(unknown)}"
    return {
        "complete": complete,
        "errors": list(errors),
        "read_time": read_time,
        **{name: list(lists.get(name, [])) for name in FINAL_STATE_LISTS},
    }


@dataclass
class Run:
    """A hand-written run: history events, fault events and final state rows, in order."""

    events: list[dict] = field(default_factory=list)
    fault_events: list[dict] = field(default_factory=list)
    charges: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    payouts: list[dict] = field(default_factory=list)
    authorizations: list[dict] = field(default_factory=list)
    network_refunds: list[dict] = field(default_factory=list)
    network_payouts: list[dict] = field(default_factory=list)
    complete: bool = True
    errors: list[str] = field(default_factory=list)

    # --- history ----------------------------------------------------------------------------

    def op(
        self,
        key: str,
        outcome: str = "ok",
        *,
        charge_id: str | None = None,
        amount: int = AMOUNT,
        error: str | None = None,
        merchant: str = MERCHANT,
        replayed: bool | None = None,
    ) -> int:
        """Append a charge op (invoke, then its completion unless ``outcome`` is "open");
        return the invoke's index. An ok is a replay when its key was answered ok before,
        unless ``replayed`` says otherwise."""
        invoke = {"amount": amount, "currency": "usd", "card": "4242424242424242"}
        ok = {"charge_id": charge_id, "status": "succeeded", "amount": amount}
        if replayed is not None:
            ok["replayed"] = replayed
        fail = {"charge_id": charge_id, "status": "failed" if charge_id else None}
        return self._write_op("charge", key, merchant, outcome, invoke, ok, fail, error)

    def refund_op(
        self,
        key: str,
        outcome: str = "ok",
        *,
        refund_id: str | None = None,
        charge_id: str = "ch_1",
        amount: int = REFUND_AMOUNT,
        remainder: bool = False,
        error: str | None = None,
        merchant: str = MERCHANT,
    ) -> int:
        """Append a refund op of ``charge_id``; ``remainder`` asks for what is left of the
        charge (amount null), and ``amount`` is then the amount acknowledged."""
        requested = None if remainder else amount
        invoke = {"charge_id": charge_id, "amount": requested, "currency": "usd"}
        ok = {"refund_id": refund_id, "charge_id": charge_id, "status": "succeeded"}
        ok |= {"amount": amount}
        fail = {"refund_id": refund_id, "status": "failed" if refund_id else None}
        return self._write_op("refund", key, merchant, outcome, invoke, ok, fail, error)

    def payout_op(
        self,
        key: str,
        outcome: str = "ok",
        *,
        payout_id: str | None = None,
        amount: int = PAYOUT_AMOUNT,
        error: str | None = None,
        merchant: str = MERCHANT,
    ) -> int:
        """Append a payout op."""
        invoke = {"amount": amount, "currency": "usd"}
        ok = {"payout_id": payout_id, "status": "paid", "amount": amount}
        fail = {"payout_id": payout_id, "status": "failed" if payout_id else None}
        return self._write_op("payout", key, merchant, outcome, invoke, ok, fail, error)

    def read_op(
        self,
        key: str,
        object_kind: str,
        object_id: str,
        *,
        amount: int = AMOUNT,
        outcome: str = "ok",
        status: str | None = None,
    ) -> int:
        """Append a read-back of one object, keyed by the write's idempotency key: ok (it
        found the object, its status by default its kind's success), "missing" (a 404), or
        any other outcome the history has ("open": no completion yet)."""
        process = len(self.events)
        invoke = {"merchant": MERCHANT, "object": object_kind, "id": object_id}
        index = self._event(process, "read", "invoke", key, invoke, None)
        if outcome == "ok":
            found = status or ("paid" if object_kind == "payout" else "succeeded")
            ok = {"id": object_id, "status": found, "amount": amount}
            self._event(process, "read", "ok", key, ok, None)
        elif outcome == "missing":
            missing = {"http_status": 404}
            self._event(process, "read", "fail", key, missing, "resource_missing")
        elif outcome != "open":
            self._event(process, "read", outcome, key, {"http_status": 503}, "http_503")
        return index

    def complete_op(
        self, invoke_index: int, value: dict | None, outcome: str = "ok", error: str | None = None
    ) -> None:
        """Complete the open op invoked at ``invoke_index`` (its process, f and key)."""
        invoke = self.events[invoke_index]
        self._event(invoke["process"], invoke["f"], outcome, invoke["key"], value, error)

    def balance_op(self, key: str, *, available: int = 0) -> int:
        """Append an ok balance read of the merchant."""
        process = len(self.events)
        index = self._event(process, "balance", "invoke", key, {"merchant": MERCHANT}, None)
        ok = {"available": {"usd": available}, "pending": {"usd": 0}}
        self._event(process, "balance", "ok", key, ok, None)
        return index

    # --- final state: rows on the primary ---------------------------------------------------

    def charge(
        self,
        charge_id: str,
        key: str | None,
        state: str = "SUCCEEDED",
        *,
        amount: int = AMOUNT,
        merchant: str = MERCHANT,
        resolved_by: str | None = "api",
    ) -> None:
        """Add a charge row on the primary."""
        row = _movement_row(charge_id, key, state, amount, merchant, resolved_by)
        self.charges.append(row | {"amount_refunded": 0})

    def refund(
        self,
        refund_id: str,
        key: str | None,
        state: str = "SUCCEEDED",
        *,
        charge_id: str = "ch_1",
        amount: int = REFUND_AMOUNT,
        merchant: str = MERCHANT,
        resolved_by: str | None = "api",
        balance_seen: int | None = None,
    ) -> None:
        """Add a refund row on the primary (and count it refunded on its charge); its
        `balance_seen` is the primary's balance, from the derived ledger, unless given."""
        row = _movement_row(refund_id, key, state, amount, merchant, resolved_by)
        self.refunds.append(row | {"charge_id": charge_id, "balance_seen": balance_seen})
        for charge in self.charges:
            if charge["id"] == charge_id and state == "SUCCEEDED":
                charge["amount_refunded"] += amount

    def payout(
        self,
        payout_id: str,
        key: str | None,
        state: str = "SUCCEEDED",
        *,
        amount: int = PAYOUT_AMOUNT,
        merchant: str = MERCHANT,
        resolved_by: str | None = "api",
        balance_seen: int | None = None,
    ) -> None:
        """Add a payout row on the primary (`balance_seen` as for refunds)."""
        row = _movement_row(payout_id, key, state, amount, merchant, resolved_by)
        self.payouts.append(row | {"balance_seen": balance_seen})

    # --- final state: the network's records -------------------------------------------------

    def authorization(
        self, reference: str, outcome: str = "approved", *, amount: int = AMOUNT
    ) -> str:
        """Add a network authorization; return its id."""
        record_id = f"auth_{len(self.authorizations)}"
        self.authorizations.append(_record_row(record_id, reference, outcome, amount))
        return record_id

    def network_refund(
        self,
        reference: str,
        outcome: str = "approved",
        *,
        amount: int = REFUND_AMOUNT,
        authorization_id: str = "auth_0",
    ) -> str:
        """Add a network refund of the authorization ``authorization_id``; return its id."""
        record_id = f"nr_{len(self.network_refunds)}"
        row = _record_row(record_id, reference, outcome, amount)
        self.network_refunds.append(row | {"authorization_id": authorization_id})
        return record_id

    def network_payout(
        self, reference: str, outcome: str = "approved", *, amount: int = PAYOUT_AMOUNT
    ) -> str:
        """Add a network payout; return its id."""
        record_id = f"np_{len(self.network_payouts)}"
        self.network_payouts.append(_record_row(record_id, reference, outcome, amount))
        return record_id

    # --- clean movements --------------------------------------------------------------------

    def paid(self, key: str, charge_id: str) -> int:
        """A clean charge: ok op, SUCCEEDED charge, one approved authorization."""
        index = self.op(key, "ok", charge_id=charge_id)
        self.charge(charge_id, key)
        self.authorization(charge_id)
        return index

    def refunded(self, key: str, refund_id: str, charge_id: str = "ch_1") -> int:
        """A clean refund of ``charge_id``: ok op, SUCCEEDED refund, one approved record."""
        index = self.refund_op(key, "ok", refund_id=refund_id, charge_id=charge_id)
        self.refund(refund_id, key, charge_id=charge_id)
        self.network_refund(refund_id)
        return index

    def paid_out(self, key: str, payout_id: str) -> int:
        """A clean payout: ok op, SUCCEEDED payout, one approved network payout."""
        index = self.payout_op(key, "ok", payout_id=payout_id)
        self.payout(payout_id, key)
        self.network_payout(payout_id)
        return index

    # --- faults and checking ----------------------------------------------------------------

    def fault(
        self, name: str, start_ns: int, stop_ns: int | None, confirmed: bool | None = True
    ) -> None:
        """Add a fault window (``stop_ns`` None: never stopped)."""
        self._fault_event("start", name, start_ns, None)
        if stop_ns is not None:
            self._fault_event("stop", name, stop_ns, confirmed)

    def document(self) -> dict:
        """The final state document, with the ledger the SUT would have posted for the rows
        (charges, then refunds, then payouts, in row order)."""
        ledger = derive_ledger(self.charges, self.refunds, self.payouts)
        return final_document(
            complete=self.complete,
            errors=self.errors,
            read_time=len(self.events) * STEP_NS,
            charges=self.charges,
            refunds=[row | {"balance_seen": ledger.seen(row)} for row in self.refunds],
            payouts=[row | {"balance_seen": ledger.seen(row)} for row in self.payouts],
            ledger_accounts=ledger.account_rows(),
            ledger_entries=ledger.entries,
            transitions=derive_transitions(self.charges, self.refunds, self.payouts),
            network_authorizations=self.authorizations,
            network_refunds=self.network_refunds,
            network_payouts=self.network_payouts,
        )

    def final_state(self) -> FinalState:
        return parse_final_state(self.document())

    def inputs(self, document: dict | None = None) -> RunInputs:
        """The run's inputs as a checker takes them; ``document`` replaces the final state."""
        state = parse_final_state(document if document is not None else self.document())
        return RunInputs(parse_history(self.events), parse_faults(self.fault_events), state)

    def check(self, checker) -> InvariantResult:
        return checker(self.inputs())

    # --- private ----------------------------------------------------------------------------

    def _write_op(
        self,
        f: str,
        key: str,
        merchant: str,
        outcome: str,
        invoke: dict,
        ok: dict,
        fail: dict,
        error: str | None,
    ) -> int:
        process = len(self.events)
        attempt = 1 + sum(
            1
            for event in self.events
            if (event["f"], event["key"], event["type"]) == (f, key, "invoke")
        )
        invoke_value = {"merchant": merchant, **invoke, "attempt": attempt}
        invoke_index = self._event(process, f, "invoke", key, invoke_value, None)
        if outcome == "ok":
            # A correct system replays a key it answered ok before.
            answered = any(
                (event["f"], event["key"], event["type"]) == (f, key, "ok") for event in self.events
            )
            self._event(process, f, "ok", key, {"replayed": answered} | ok, None)
        elif outcome == "fail":
            self._event(process, f, "fail", key, fail | {"http_status": 402}, error)
        elif outcome == "info":
            self._event(process, f, "info", key, None, error or "timeout")
        elif outcome != "open":
            raise ValueError(f"outcome {outcome!r} is none of ok, fail, info, open")
        return invoke_index

    def _event(
        self,
        process: int,
        f: str,
        event_type: str,
        key: str,
        value: dict | None,
        error: str | None,
    ) -> int:
        index = len(self.events)
        self.events.append(
            {
                "index": index,
                "time": index * STEP_NS,
                "process": process,
                "type": event_type,
                "f": f,
                "key": key,
                "value": value,
                "error": error,
            }
        )
        return index

    def _fault_event(self, event_type: str, name: str, time_ns: int, confirmed) -> None:
        self.fault_events.append(
            {
                "index": len(self.fault_events),
                "time": time_ns,
                "type": event_type,
                "name": name,
                "fault": "toxic",
                "target": "network",
                "params": {"toxic": "timeout"},
                "confirmed": confirmed,
                "evidence": {"timeouts": 3} if event_type == "stop" else None,
            }
        )


# The postings of each movement kind by its final state (the SUT's, payments/ledger.py).
_POSTINGS = {
    ("charge", "SUCCEEDED"): ["charge_succeeded"],
    ("refund", "SUCCEEDED"): ["refund_reserved", "refund_succeeded"],
    ("refund", "FAILED"): ["refund_reserved", "refund_failed"],
    ("refund", "PROCESSING"): ["refund_reserved"],
    ("payout", "SUCCEEDED"): ["payout_reserved", "payout_succeeded"],
    ("payout", "FAILED"): ["payout_reserved", "payout_failed"],
    ("payout", "PROCESSING"): ["payout_reserved"],
}


@dataclass
class DerivedLedger:
    """Accounts and entries as the SUT posts them, each entry with its balance after."""

    accounts: dict[tuple, dict] = field(default_factory=dict)
    entries: list[dict] = field(default_factory=list)
    balances_seen: dict[str, int] = field(default_factory=dict)
    transactions: int = 0

    def account(self, merchant: str | None, kind: str) -> dict:
        key = (merchant if kind == "merchant_available" else None, kind)
        if key not in self.accounts:
            self.accounts[key] = {
                "id": len(self.accounts) + 1,
                "merchant": key[0],
                "kind": kind,
                "currency": "usd",
                "balance": 0,
            }
        return self.accounts[key]

    def post(self, posting: str, row: dict) -> None:
        if posting.endswith("_reserved"):
            self.balances_seen[row["id"]] = self.account(row["merchant"], "merchant_available")[
                "balance"
            ]
        debited, credited = POSTINGS[posting]
        self.transactions += 1
        transaction_id = self.transactions
        for kind, amount in ((debited, -row["amount"]), (credited, row["amount"])):
            account = self.account(row["merchant"], kind)
            account["balance"] += amount
            self.entries.append(
                {
                    "id": len(self.entries) + 1,
                    "transaction_id": transaction_id,
                    "transaction_kind": posting,
                    "object_id": row["id"],
                    "account_id": account["id"],
                    "amount": amount,
                    "balance_after": account["balance"],
                }
            )

    def seen(self, row: dict) -> int | None:
        """A debit's balance seen: as given, else the primary's when it was reserved."""
        given = row["balance_seen"]
        return self.balances_seen.get(row["id"]) if given is None else given

    def account_rows(self) -> list[dict]:
        return list(self.accounts.values())


def derive_ledger(charges: list[dict], refunds: list[dict], payouts: list[dict]) -> DerivedLedger:
    """The ledger the SUT would hold for these rows."""
    ledger = DerivedLedger()
    for kind, rows in (("charge", charges), ("refund", refunds), ("payout", payouts)):
        for row in rows:
            for posting in _POSTINGS.get((kind, row["state"]), []):
                ledger.post(posting, row)
    return ledger


def derive_transitions(charges: list[dict], refunds: list[dict], payouts: list[dict]) -> list[dict]:
    """The transitions the SUT records for these rows: created PENDING and moved to
    PROCESSING by the API, then, once final, resolved by whoever resolved the row."""
    transitions: list[dict] = []
    for object_type, rows in (("charge", charges), ("refund", refunds), ("payout", payouts)):
        for row in rows:
            steps = [(None, "PENDING", "api")]
            if row["state"] != "PENDING":
                steps.append(("PENDING", "PROCESSING", "api"))
            if row["state"] in ("SUCCEEDED", "FAILED"):
                steps.append(("PROCESSING", row["state"], row["resolved_by"] or "api"))
            for from_state, to_state, actor in steps:
                transitions.append(
                    {
                        "id": len(transitions) + 1,
                        "object_type": object_type,
                        "object_id": row["id"],
                        "from_state": from_state,
                        "to_state": to_state,
                        "actor": actor,
                    }
                )
    return transitions


def _movement_row(
    movement_id: str,
    key: str | None,
    state: str,
    amount: int,
    merchant: str,
    resolved_by: str | None,
) -> dict:
    return {
        "id": movement_id,
        "merchant": merchant,
        "idempotency_key": key,
        "amount": amount,
        "currency": "usd",
        "state": state,
        "failure_code": "card_declined" if state == "FAILED" else None,
        "resolved_by": resolved_by,
    }


def _record_row(record_id: str, reference: str, outcome: str, amount: int) -> dict:
    return {
        "id": record_id,
        "reference": reference,
        "amount": amount,
        "currency": "usd",
        "outcome": outcome,
        "decline_code": "card_declined" if outcome == "declined" else None,
    }


def clean_run() -> Run:
    """Two paid keys, one declined key, a refund of the first charge, a payout, a read-back
    and a balance read: every checker finds it valid."""
    run = Run()
    run.paid("k1", "ch_1")
    run.paid("k2", "ch_2")
    run.op("k3", "fail", charge_id="ch_3", error="card_declined")
    run.charge("ch_3", "k3", "FAILED")
    run.authorization("ch_3", "declined")
    run.refunded("r1", "re_1", "ch_1")
    run.paid_out("p1", "po_1")
    run.read_op("k1", "charge", "ch_1")
    run.balance_op("b1", available=AMOUNT)
    return run


def kinds(result: InvariantResult) -> list[str]:
    """The anomaly kinds of a result, in order."""
    return [anomaly.kind for anomaly in result.anomalies]
