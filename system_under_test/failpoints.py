"""Failpoints (test mode only): named points in the money flows where a test can make the
process crash, wait or fail, on the Nth time the point is reached.

Each flow passes its points in order; together they cover every window between two commits
and between the last commit and the answer:

- `<kind>.after_claim`: the key is claimed, nothing else is written;
- `<kind>.after_processing_commit`: the object is PROCESSING, the network not yet asked;
- `<kind>.after_send`: the network answered (or did not), nothing recorded of it yet;
- `<kind>.after_resolve_commit`: the final state and response are committed, not yet sent.

and in the recovery worker, between its look-up and its resolve, and after the resolve:

- `recovery.after_look_up`: the network told the outcome, nothing recorded of it yet;
- `recovery.after_resolve_commit`: the movement's final state is committed.
"""

import asyncio
import os
import signal
from dataclasses import dataclass

from system_under_test.payments.idempotency.recovery_points import RECOVERY_POINTS

STAGES = ("after_claim", "after_processing_commit", "after_send", "after_resolve_commit")
RECOVERY_STAGES = ("recovery.after_look_up", "recovery.after_resolve_commit")
POINTS = frozenset(
    {f"{kind}.{stage}" for kind in RECOVERY_POINTS for stage in STAGES} | set(RECOVERY_STAGES)
)
ACTIONS = frozenset({"crash", "delay", "error"})
# Long enough to outlast any lock TTL or deadline under test, short enough that a forgotten
# failpoint cannot hang a run.
DELAY_MS_MAX = 120_000
NTH_MAX = 1_000_000


class FailpointError(RuntimeError):
    """Raised by a failpoint armed with the `error` action."""


class FailpointSpecError(ValueError):
    """An unknown point or action, or a value out of range; the message names it."""


@dataclass
class _Armed:
    action: str
    nth: int
    delay_ms: int
    hits: int = 0


class Failpoints:
    """The armed failpoints of one process, and how often each point was reached and fired."""

    def __init__(self) -> None:
        self._armed: dict[str, _Armed] = {}
        self._hits: dict[str, int] = dict.fromkeys(sorted(POINTS), 0)
        self._fired: dict[str, int] = dict.fromkeys(sorted(POINTS), 0)

    def arm(self, name: str, action: str, *, nth: int = 1, delay_ms: int = 0) -> None:
        """Fire `action` at the `nth` hit of `name` from now on (once)."""
        if name not in POINTS:
            raise FailpointSpecError(
                f"unknown failpoint {name!r}; known: {', '.join(sorted(POINTS))}"
            )
        if action not in ACTIONS:
            raise FailpointSpecError(
                f"unknown action {action!r}; known: {', '.join(sorted(ACTIONS))}"
            )
        if not 1 <= nth <= NTH_MAX:
            raise FailpointSpecError(f"nth must be 1..{NTH_MAX}, got {nth}")
        if not 0 <= delay_ms <= DELAY_MS_MAX:
            raise FailpointSpecError(f"delay_ms must be 0..{DELAY_MS_MAX}, got {delay_ms}")
        if action == "delay" and delay_ms == 0:
            raise FailpointSpecError("a delay needs delay_ms > 0")
        self._armed[name] = _Armed(action, nth, delay_ms)

    def disarm_all(self) -> None:
        self._armed.clear()

    def status(self) -> dict:
        """Armed points, and per point how often it was reached and how often it fired."""
        return {
            "armed": {
                name: {"action": armed.action, "nth": armed.nth, "delay_ms": armed.delay_ms}
                for name, armed in self._armed.items()
            },
            "hits": dict(self._hits),
            "fired": dict(self._fired),
        }

    async def hit(self, name: str) -> None:
        """Pass the point `name`: fire its action if this is its armed Nth hit."""
        assert name in POINTS, f"failpoint {name!r} is not declared"
        self._hits[name] += 1
        armed = self._armed.get(name)
        if armed is None:
            return
        armed.hits += 1
        if armed.hits < armed.nth:
            return
        del self._armed[name]
        self._fired[name] += 1
        if armed.action == "crash":
            # As abrupt as a power cut for this process: no cleanup, no answer.
            os.kill(os.getpid(), signal.SIGKILL)
        elif armed.action == "delay":
            await asyncio.sleep(armed.delay_ms / 1000)
        else:
            raise FailpointError(f"failpoint {name} fired")
