"""Toxicity decisions: seeded per link, recorded, and counted per toxic. No I/O here.

One seed drives the whole server. Each start of a toxic on a link (a connection and a direction)
gets its own generator, seeded from the server's seed and the names of that start: the proxy,
the connection's number (1, 2, ... in accept order on that proxy), the stream, and the toxic's
order and revision. Its first draw is the toxicity roll; later draws are that link's jitter and
slice sizes. So a decision depends only on the seed and on which connection it is, never on how
the bytes of other connections happened to be chunked, and the same seed with the same sequence
of connections and API calls gives the same decisions.

>>> toxic = Toxic("lag", "latency", "downstream", 0.5, {"latency": 5, "jitter": 0}, order=0)
>>> first = link_random(7, proxy="api", connection=1, toxic=toxic).random()
>>> first == link_random(7, proxy="api", connection=1, toxic=toxic).random()
True
>>> first == link_random(8, proxy="api", connection=1, toxic=toxic).random()
False
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, dataclass

from faults.proxy.toxics import Toxic

# Decisions kept for GET /paychaos/decisions, oldest dropped first: a campaign opens a few
# thousand connections per link at most, and each record is ~200 B, so this is ~20 MB at worst.
DECISION_COUNT_MAX = 100_000


def link_random(seed: int, *, proxy: str, connection: int, toxic: Toxic) -> random.Random:
    """Return the generator of one start of `toxic` on one connection of `proxy`.

    A string seed goes through SHA-512 in `random.Random`, so this is the same on every
    machine and Python run, whatever PYTHONHASHSEED says.
    """
    key = f"{seed}/{proxy}/{connection}/{toxic.stream}/{toxic.order}/{toxic.name}/{toxic.revision}"
    return random.Random(key)


@dataclass(frozen=True)
class Decision:
    """One toxicity roll: toxic `toxic` (at `revision`) on one direction of one connection."""

    proxy: str
    connection: int
    stream: str
    toxic: str
    type: str
    revision: int
    toxicity: float
    roll: float
    affected: bool

    def to_json(self) -> dict[str, object]:
        """Return the decision as a JSON object (field names as above)."""
        return asdict(self)


@dataclass
class ToxicStats:
    """What one toxic did, for GET /proxies/{p}/toxics/{t}/stats.

    A connection counts once as affected if the toxic was active on it at some point, and once
    as spared if a roll left it inactive at some point; an update re-rolls, so a connection can
    count as both. `bytes_affected` counts the bytes that reached the toxic while it was active
    (delayed, paced, sliced, dropped or cut).
    """

    connections_affected: int = 0
    connections_spared: int = 0
    bytes_affected: int = 0

    def to_json(self, name: str) -> dict[str, object]:
        """Return the stats of the toxic called `name` as a JSON object."""
        return {
            "name": name,
            "connections_affected": self.connections_affected,
            "connections_spared": self.connections_spared,
            "bytes_affected": self.bytes_affected,
        }


class DecisionLog:
    """The server's seed and its most recent DECISION_COUNT_MAX toxicity decisions, in order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._decisions: deque[Decision] = deque(maxlen=DECISION_COUNT_MAX)
        self._recorded_count = 0

    def record(self, decision: Decision) -> None:
        """Append one decision (the oldest is dropped once DECISION_COUNT_MAX are kept)."""
        self._decisions.append(decision)
        self._recorded_count += 1

    def to_json(self) -> dict[str, object]:
        """Return the seed, the kept decisions and how many older ones were dropped."""
        return {
            "seed": self.seed,
            "decisions": [decision.to_json() for decision in self._decisions],
            "dropped": self._recorded_count - len(self._decisions),
        }
