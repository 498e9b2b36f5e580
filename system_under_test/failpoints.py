"""Failpoints (test mode only): named points in the money flows where a test can make the
process crash, wait, hang or fail, on the Nth time the point is reached.

Each flow passes its points in order; together they cover every window between two commits
and between the last commit and the answer:

- `<kind>.after_claim`: the key is claimed, nothing else is written;
- `<kind>.after_processing_commit`: the object is PROCESSING, the network not yet asked;
- `<kind>.after_send`: the network answered (or did not), nothing recorded of it yet;
- `<kind>.after_resolve_commit`: the final state and response are committed, not yet sent.

and in the recovery worker, between its look-up and its resolve, and after the resolve:

- `recovery.after_look_up`: the network told the outcome, nothing recorded of it yet;
- `recovery.after_resolve_commit`: the movement's final state is committed.

The API passes the flows' points, the worker the recovery points (`SERVICE_POINTS`).

>>> failpoints = Failpoints()
>>> failpoints.arm("charge.after_send", "error", nth=2)
>>> failpoints.status()["armed"]
{'charge.after_send': {'action': 'error', 'nth': 2, 'delay_ms': 0}}
"""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass

from system_under_test.payments.idempotency.recovery_points import RECOVERY_POINTS

log = logging.getLogger("paychaos.failpoints")

STAGES = ("after_claim", "after_processing_commit", "after_send", "after_resolve_commit")
RECOVERY_STAGES = ("recovery.after_look_up", "recovery.after_resolve_commit")
FLOW_POINTS = frozenset(f"{kind}.{stage}" for kind in RECOVERY_POINTS for stage in STAGES)
POINTS = FLOW_POINTS | frozenset(RECOVERY_STAGES)
# Which service passes which points: the API runs the flows, the worker recovers.
SERVICE_POINTS: dict[str, frozenset[str]] = {
    "api": FLOW_POINTS,
    "worker": frozenset(RECOVERY_STAGES),
}
assert frozenset().union(*SERVICE_POINTS.values()) == POINTS, "every point has its service"
ACTIONS = frozenset({"crash", "delay", "error", "hang"})
# Long enough to outlast any lock TTL or deadline under test, short enough that a forgotten
# failpoint cannot hang a run.
DELAY_MS_MAX = 120_000
# A hang waits for its disarm at most this long, then goes on: a harness that died before it
# could disarm must not leave a request (or a worker pass) held for ever. The same bound as the
# longest delay, for the same reason.
HANG_S_MAX = DELAY_MS_MAX / 1000
NTH_MAX = 1_000_000
# The line a crash writes to stderr (the service's log) just before SIGKILL: which point fired.
CRASH_LINE = "failpoint {name} fired: crash (SIGKILL)"


class FailpointError(RuntimeError):
    """Raised by a failpoint armed with the `error` action."""


class FailpointSpecError(ValueError):
    """An unknown point or action, or a value out of range; the message starts with the
    field it is about (`name`, `action`, `nth`, `delay_ms`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass
class _Armed:
    action: str
    nth: int
    delay_ms: int
    hits: int = 0


def _check_spec(name: str, action: str, nth: int, delay_ms: int) -> None:
    if name not in POINTS:
        raise FailpointSpecError(
            "name", f"unknown failpoint {name!r}; known: {', '.join(sorted(POINTS))}"
        )
    if action not in ACTIONS:
        raise FailpointSpecError(
            "action", f"unknown action {action!r}; known: {', '.join(sorted(ACTIONS))}"
        )
    if not 1 <= nth <= NTH_MAX:
        raise FailpointSpecError("nth", f"must be 1..{NTH_MAX}, got {nth}")
    if not 0 <= delay_ms <= DELAY_MS_MAX:
        raise FailpointSpecError("delay_ms", f"must be 0..{DELAY_MS_MAX}, got {delay_ms}")
    if action == "delay" and delay_ms == 0:
        raise FailpointSpecError("delay_ms", "a delay needs delay_ms > 0")
    if action != "delay" and delay_ms != 0:
        # Accept nothing that is ignored: a hang's bound is HANG_S_MAX, not delay_ms.
        raise FailpointSpecError("delay_ms", f"only a delay takes delay_ms, not a {action}")


def crash(name: str) -> None:
    """Die at once, as abruptly as a power cut for this process (no cleanup, no answer),
    after one flushed line on stderr that names the point."""
    print(CRASH_LINE.format(name=name), file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


class Failpoints:
    """The armed failpoints of one process, and how often each point was reached and fired."""

    def __init__(self) -> None:
        self._armed: dict[str, _Armed] = {}
        self._hits: dict[str, int] = dict.fromkeys(sorted(POINTS), 0)
        self._fired: dict[str, int] = dict.fromkeys(sorted(POINTS), 0)
        self._hanging: dict[str, int] = dict.fromkeys(sorted(POINTS), 0)
        # Set by the next disarm: every hang that fired before it goes on.
        self._disarmed = asyncio.Event()

    def arm(self, name: str, action: str, *, nth: int = 1, delay_ms: int = 0) -> None:
        """Fire `action` at the `nth` hit of `name` from now on (once); raises
        FailpointSpecError naming the bad field."""
        _check_spec(name, action, nth, delay_ms)
        self._armed[name] = _Armed(action, nth, delay_ms)

    def disarm_all(self) -> None:
        """Disarm every point and let every hanging hit go on."""
        self._armed.clear()
        self._disarmed.set()
        self._disarmed = asyncio.Event()

    def status(self) -> dict:
        """Armed points, and per point how often it was reached, how often it fired, and how
        many of its hits hang now."""
        return {
            "armed": {
                name: {"action": armed.action, "nth": armed.nth, "delay_ms": armed.delay_ms}
                for name, armed in self._armed.items()
            },
            "hits": dict(self._hits),
            "fired": dict(self._fired),
            "hanging": dict(self._hanging),
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
            crash(name)
        log.warning("failpoint %s fired: %s", name, armed.action)
        if armed.action == "delay":
            await asyncio.sleep(armed.delay_ms / 1000)
        elif armed.action == "hang":
            await self._hang(name)
        else:
            raise FailpointError(f"failpoint {name} fired")

    async def _hang(self, name: str) -> None:
        self._hanging[name] += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._disarmed.wait(), HANG_S_MAX)
        finally:
            self._hanging[name] -= 1
