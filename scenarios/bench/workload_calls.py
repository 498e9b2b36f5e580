"""API calls per charge in a campaign's workload, counted in its history: every attempt of a
write (retries too) and every read-back is one call to the API."""

from collections import Counter
from pathlib import Path

from invariants import HISTORY_FILE, load_history


def calls_per_charge(run_dir: Path) -> dict:
    """Calls the workload of the run in `run_dir` made, per charge key.

    `charge_key_calls` counts what one charge costs on its own (its attempts and the read-back
    of its object); `all_calls` counts every call of the workload (refunds, payouts, balance
    reads too) against its charges, which is what the API serves per charge of such a mix.
    """
    ops = load_history(run_dir / HISTORY_FILE)
    calls = Counter(op.f for op in ops)
    charge_keys = {op.key for op in ops if op.f == "charge"}
    if not charge_keys:
        raise ValueError(f"{run_dir / HISTORY_FILE} has no charge")
    charge_attempts = calls["charge"]
    charge_reads = sum(
        1 for op in ops if op.f == "read" and (op.invoke_value or {}).get("object") == "charge"
    )
    return {
        "run_dir": str(run_dir),
        "charge_keys": len(charge_keys),
        "calls_by_function": dict(sorted(calls.items())),
        "charge_attempts_per_key": charge_attempts / len(charge_keys),
        "charge_key_calls": (charge_attempts + charge_reads) / len(charge_keys),
        "all_calls": sum(calls.values()) / len(charge_keys),
    }
