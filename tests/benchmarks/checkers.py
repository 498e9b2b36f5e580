"""Checker speed and memory on a synthetic run: `python -m tests.benchmarks.checkers [--ops N]`.

Writes a run directory of N ops (charges, read-backs, balance reads, refunds and payouts, every
one ok, with the final state and ledger a correct system would leave), then loads and checks it
with every checker in a child process, and prints ops/s and the child's peak memory. Goal (the
issue's): at least 200,000 ops/s and at most 2 GB peak for 1,000,000 ops.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import invariants
from invariants.model.history import encode_event
from tests.unit.test_invariants_builders import derive_ledger, derive_transitions

MERCHANTS = 8
AMOUNT = 1000
REFUND_AMOUNT = 300
PAYOUT_AMOUNT = 200
# Per ten ops: four charges, four read-backs, one balance read, and a refund or a payout.
PATTERN = ("charge", "read", "charge", "read", "charge", "read", "charge", "read", "balance")
OP_NS = 10_000


class SyntheticRun:
    """Streams history lines and collects the rows of a correct run (its ledger and
    transitions are derived from them at the end, as the SUT would post them)."""

    def __init__(self, history) -> None:
        self.history = history
        self.index = 0
        self.rows = {name: [] for name in invariants.model.final_state.ROW_LISTS}

    def op(self, f: str, key: str, invoke: dict, ok: dict) -> None:
        process = self.index % 64
        for kind, value in (("invoke", invoke), ("ok", ok)):
            self.history.write(
                encode_event(
                    index=self.index,
                    time=self.index * OP_NS,
                    process=process,
                    type=kind,
                    f=f,
                    key=key,
                    value=value,
                    error=None,
                )
            )
            self.index += 1


def _movement(object_id, merchant, key, amount, **extra) -> dict:
    return {
        "id": object_id,
        "merchant": merchant,
        "idempotency_key": key,
        "amount": amount,
        "currency": "usd",
        "state": "SUCCEEDED",
        "failure_code": None,
        "resolved_by": "api",
        **extra,
    }


def _record(record_id, reference, amount, **extra) -> dict:
    return {
        "id": record_id,
        "reference": reference,
        "amount": amount,
        "currency": "usd",
        "outcome": "approved",
        "decline_code": None,
        **extra,
    }


def _charge(run: SyntheticRun, number: int) -> str:
    merchant = f"acct_{number % MERCHANTS}"
    key, charge_id = f"c{number}", f"ch_{number}"
    invoke = {"merchant": merchant, "amount": AMOUNT, "currency": "usd", "card": "4242"}
    invoke["attempt"] = 1
    ok = {"charge_id": charge_id, "amount": AMOUNT, "status": "succeeded", "replayed": False}
    run.op("charge", key, invoke, ok)
    run.rows["charges"].append(_movement(charge_id, merchant, key, AMOUNT, amount_refunded=0))
    run.rows["network_authorizations"].append(_record(f"auth_{number}", charge_id, AMOUNT))
    return charge_id


def _debit(run: SyntheticRun, number: int, charge_number: int) -> None:
    merchant = f"acct_{charge_number % MERCHANTS}"
    if number % 2:
        key, refund_id, charge_id = f"r{number}", f"re_{number}", f"ch_{charge_number}"
        invoke = {"merchant": merchant, "charge_id": charge_id, "amount": REFUND_AMOUNT}
        invoke |= {"currency": "usd", "attempt": 1}
        ok = {"refund_id": refund_id, "charge_id": charge_id, "status": "succeeded"}
        run.op("refund", key, invoke, ok | {"amount": REFUND_AMOUNT, "replayed": False})
        run.rows["refunds"].append(
            _movement(refund_id, merchant, key, REFUND_AMOUNT, charge_id=charge_id)
            | {"balance_seen": None}
        )
        run.rows["charges"][charge_number]["amount_refunded"] += REFUND_AMOUNT
        record = _record(f"nr_{number}", refund_id, REFUND_AMOUNT)
        run.rows["network_refunds"].append(record | {"authorization_id": f"auth_{charge_number}"})
    else:
        key, payout_id = f"p{number}", f"po_{number}"
        invoke = {"merchant": merchant, "amount": PAYOUT_AMOUNT, "currency": "usd", "attempt": 1}
        ok = {"payout_id": payout_id, "status": "paid", "amount": PAYOUT_AMOUNT}
        run.op("payout", key, invoke, ok | {"replayed": False})
        run.rows["payouts"].append(
            _movement(payout_id, merchant, key, PAYOUT_AMOUNT) | {"balance_seen": None}
        )
        run.rows["network_payouts"].append(_record(f"npo_{number}", payout_id, PAYOUT_AMOUNT))


def write_run(run_dir: Path, op_count: int) -> None:
    """A correct run of about `op_count` ops in `run_dir`."""
    with (run_dir / invariants.HISTORY_FILE).open("wb") as history:
        run = SyntheticRun(history)
        charges = 0
        for block in range(op_count // (len(PATTERN) + 1)):
            for f in PATTERN:
                if f == "charge":
                    _charge(run, charges)
                    charges += 1
                elif f == "read":
                    charge_id = f"ch_{charges - 1}"
                    merchant = f"acct_{(charges - 1) % MERCHANTS}"
                    invoke = {"merchant": merchant, "object": "charge", "id": charge_id}
                    ok = {"id": charge_id, "amount": AMOUNT, "status": "succeeded"}
                    run.op("read", f"c{charges - 1}", invoke, ok)
                else:
                    balance = {"available": {"usd": 0}, "pending": {"usd": 0}}
                    run.op("balance", f"b{run.index}", {"merchant": "acct_0"}, balance)
            _debit(run, block, charges - 1)
    (run_dir / invariants.FAULTS_FILE).write_text("")
    rows = run.rows
    ledger = derive_ledger(rows["charges"], rows["refunds"], rows["payouts"])
    for debits in (rows["refunds"], rows["payouts"]):
        debits[:] = [row | {"balance_seen": ledger.seen(row)} for row in debits]
    rows["ledger_accounts"] = ledger.account_rows()
    rows["ledger_entries"] = ledger.entries
    rows["transitions"] = derive_transitions(rows["charges"], rows["refunds"], rows["payouts"])
    document = {"complete": True, "errors": [], "read_time": run.index * OP_NS, **run.rows}
    (run_dir / invariants.FINAL_STATE_FILE).write_text(json.dumps(document))


def check(run_dir: Path) -> None:
    """Load and check `run_dir` with every checker; print one JSON line of figures."""
    started = time.perf_counter()
    inputs = invariants.load_run(run_dir)
    loaded = time.perf_counter()
    results = invariants.check_all(inputs, list(invariants.CHECKERS))
    checked = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdicts = {result.name: str(result.verdict) for result in results}
    print(
        json.dumps(
            {
                "ops": len(inputs.ops),
                "load_s": round(loaded - started, 2),
                "check_s": round(checked - loaded, 2),
                "peak_mib": round(peak_kib / 1024),
                "verdicts": verdicts,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=1_000_000, help="ops in the history")
    parser.add_argument("--check", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.check:
        check(Path(arguments.check))
        return
    with tempfile.TemporaryDirectory(prefix="paychaos-checkers-") as directory:
        run_dir = Path(directory)
        started = time.perf_counter()
        write_run(run_dir, arguments.ops)
        print(f"synthetic run written in {time.perf_counter() - started:.1f} s")
        child = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.checkers", "--check", str(run_dir)],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
        )
    figures = json.loads(child.stdout)
    total_s = figures["load_s"] + figures["check_s"]
    print(f"ops: {figures['ops']:,}")
    print(f"load: {figures['load_s']} s, check: {figures['check_s']} s")
    print(f"ops/s (load and check): {figures['ops'] / total_s:,.0f} (goal >= 200,000)")
    print(f"peak memory: {figures['peak_mib']:,} MiB (goal <= 2,048)")
    print(f"verdicts: {figures['verdicts']}")


if __name__ == "__main__":
    main()
