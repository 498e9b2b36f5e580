"""The attempts of one planned write as plain decisions (no I/O): which attempt comes next,
under which key, after what pause, and which history process sends it.

Process numbers (Jepsen's, extended to concurrent attempts). Each client runs
``concurrency_multiple`` lanes (one in mode backoff); lane ``l`` of client ``c`` is thread
``c + clients * l`` of ``threads = clients * concurrency_multiple``. A thread's process starts
as its thread number, and each time its op ends ``info`` it is retired and succeeded by
``process + threads``. So ``process mod threads`` names the thread, every process number is
used by one thread only, and no two concurrent attempts share one.

>>> numbers = ProcessNumbers(client=1, clients=3, lanes=2)
>>> [numbers.process(lane) for lane in (0, 1)]
[1, 4]
>>> numbers.retire(1)
>>> [numbers.process(lane) for lane in (0, 1)]
[1, 10]
"""

import random
from dataclasses import dataclass

from scenarios.scenario import RetryPolicy


class ProcessNumbers:
    """The current history process of each lane of one client."""

    def __init__(self, *, client: int, clients: int, lanes: int) -> None:
        assert 0 <= client < clients, f"client {client} is not one of {clients}"
        assert lanes >= 1, "a client has at least one lane"
        self._threads = clients * lanes
        self._processes = [client + clients * lane for lane in range(lanes)]

    @property
    def lanes(self) -> int:
        return len(self._processes)

    def process(self, lane: int) -> int:
        """The process that sends the lane's next op."""
        return self._processes[lane]

    def retire(self, lane: int) -> None:
        """The lane's op ended info: its process is retired, a new one takes the thread."""
        self._processes[lane] += self._threads


def attempt_key(policy: RetryPolicy, payment: str, attempt: int) -> str:
    """The idempotency key of attempt number ``attempt`` (from 1) of the planned write whose
    key is ``payment``: that key, or for a careless client a key of the attempt's own.

    >>> careless = RetryPolicy(mode="careless")
    >>> [attempt_key(careless, "s-1-c0-5", attempt) for attempt in (1, 2)]
    ['s-1-c0-5', 's-1-c0-5-a2']
    """
    assert attempt >= 1, f"attempts count from 1, got {attempt}"
    if policy.new_key_per_attempt and attempt > 1:
        return f"{payment}-a{attempt}"
    return payment


@dataclass(frozen=True)
class Attempt:
    number: int  # from 1, over every lane of the planned write
    key: str


class PlannedWrite:
    """The attempts of one planned write, shared by its lanes.

    A lane asks for its next attempt until there is none: the write is settled (an attempt got
    a definite answer, ok or fail) or its ``attempts_max`` attempts are all sent.

    >>> write = PlannedWrite("k", RetryPolicy(mode="storm", attempts_max=3,
    ...                                       concurrency_multiple=2))
    >>> [write.next_attempt().number, write.next_attempt().number]
    [1, 2]
    >>> write.settle("ok"), write.settle("ok"), write.next_attempt()
    (True, False, None)
    """

    def __init__(self, payment: str, policy: RetryPolicy) -> None:
        self.payment = payment
        self._policy = policy
        self._sent = 0
        self._settled = False

    @property
    def finished(self) -> bool:
        """Whether no attempt is left to send: settled, or every attempt sent."""
        return self._settled or self._sent >= self._policy.attempts_max

    def next_attempt(self) -> Attempt | None:
        """The next attempt to send, or None when the write is settled or out of attempts."""
        if self.finished:
            return None
        self._sent += 1
        return Attempt(self._sent, attempt_key(self._policy, self.payment, self._sent))

    def settle(self, completion_type: str) -> bool:
        """Record how an attempt ended; True for the first definite answer (the one the client
        acts on: a read-back, a refund's charge id), False otherwise."""
        assert completion_type in ("ok", "fail", "info"), f"no completion: {completion_type!r}"
        if completion_type == "info" or self._settled:
            return False
        self._settled = True
        return True

    def pause_s(self, attempt: int, jitter: random.Random) -> float:
        """How long a lane waits after attempt number ``attempt`` ended info: the jittered
        exponential backoff in mode backoff, nothing in a storm."""
        if self._policy.mode != "backoff":
            return 0.0
        ceiling = min(self._policy.backoff_max_s, self._policy.backoff_s * 2 ** (attempt - 1))
        return ceiling / 2 + jitter.uniform(0, ceiling / 2)
