"""Hand-written runs for the invariants and reports tests (builders only, no tests here)."""

from dataclasses import dataclass, field

from invariants import FinalState, InvariantResult, parse_faults, parse_final_state, parse_history

MERCHANT = "acct_1"
AMOUNT = 1000
# Each history event is this much later than the previous one.
STEP_NS = 1_000_000


@dataclass
class Run:
    """A hand-written run: history events, fault events and final state rows, in order."""

    events: list[dict] = field(default_factory=list)
    fault_events: list[dict] = field(default_factory=list)
    charges: list[dict] = field(default_factory=list)
    authorizations: list[dict] = field(default_factory=list)
    complete: bool = True
    errors: list[str] = field(default_factory=list)

    def op(
        self,
        key: str,
        outcome: str = "ok",
        *,
        charge_id: str | None = None,
        amount: int = AMOUNT,
        error: str | None = None,
    ) -> int:
        """Append a charge op (invoke, then its completion unless ``outcome`` is "open");
        return the invoke's index."""
        process = len(self.events)
        invoke_index = self._event(process, "invoke", key, self._invoke_value(key, amount), None)
        if outcome == "ok":
            value = {"charge_id": charge_id, "status": "succeeded", "amount": amount}
            self._event(process, "ok", key, value | {"replayed": False}, None)
        elif outcome == "fail":
            value = {"charge_id": charge_id, "status": "failed" if charge_id else None}
            self._event(process, "fail", key, value | {"http_status": 402}, error)
        elif outcome == "info":
            self._event(process, "info", key, None, error or "timeout")
        elif outcome != "open":
            raise ValueError(f"outcome {outcome!r} is none of ok, fail, info, open")
        return invoke_index

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
        self.charges.append(
            {
                "id": charge_id,
                "merchant": merchant,
                "idempotency_key": key,
                "amount": amount,
                "currency": "usd",
                "state": state,
                "failure_code": "card_declined" if state == "FAILED" else None,
                "resolved_by": resolved_by,
            }
        )

    def authorization(
        self, reference: str, outcome: str = "approved", *, amount: int = AMOUNT
    ) -> str:
        """Add a network authorization; return its id."""
        authorization_id = f"auth_{len(self.authorizations)}"
        self.authorizations.append(
            {
                "id": authorization_id,
                "reference": reference,
                "amount": amount,
                "currency": "usd",
                "outcome": outcome,
                "decline_code": "card_declined" if outcome == "declined" else None,
            }
        )
        return authorization_id

    def paid(self, key: str, charge_id: str) -> int:
        """A clean charge: ok op, SUCCEEDED charge, one approved authorization."""
        index = self.op(key, "ok", charge_id=charge_id)
        self.charge(charge_id, key)
        self.authorization(charge_id)
        return index

    def fault(
        self, name: str, start_ns: int, stop_ns: int | None, confirmed: bool | None = True
    ) -> None:
        """Add a fault window (``stop_ns`` None: never stopped)."""
        self._fault_event("start", name, start_ns, None)
        if stop_ns is not None:
            self._fault_event("stop", name, stop_ns, confirmed)

    def final_state(self) -> FinalState:
        return parse_final_state(
            {
                "complete": self.complete,
                "errors": self.errors,
                "read_time": len(self.events) * STEP_NS,
                "charges": self.charges,
                "network_authorizations": self.authorizations,
                "balances": [],
                "idempotency_keys": [],
            }
        )

    def check(self, checker) -> InvariantResult:
        ops = parse_history(self.events)
        windows = parse_faults(self.fault_events)
        return checker(ops, windows, self.final_state())

    def _invoke_value(self, key: str, amount: int) -> dict:
        attempt = 1 + sum(
            1 for event in self.events if event["key"] == key and event["type"] == "invoke"
        )
        return {
            "merchant": MERCHANT,
            "amount": amount,
            "currency": "usd",
            "card": "4242424242424242",
            "attempt": attempt,
        }

    def _event(
        self, process: int, event_type: str, key: str, value: dict | None, error: str | None
    ) -> int:
        index = len(self.events)
        self.events.append(
            {
                "index": index,
                "time": index * STEP_NS,
                "process": process,
                "type": event_type,
                "f": "charge",
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


def clean_run() -> Run:
    """Two paid keys and one declined key: every checker finds it valid."""
    run = Run()
    run.paid("k1", "ch_1")
    run.paid("k2", "ch_2")
    run.op("k3", "fail", charge_id="ch_3", error="card_declined")
    run.charge("ch_3", "k3", "FAILED")
    run.authorization("ch_3", "declined")
    return run


def kinds(result: InvariantResult) -> list[str]:
    """The anomaly kinds of a result, in order."""
    return [anomaly.kind for anomaly in result.anomalies]
