"""Fault kinds, one module each (DESIGN.md "Faults"): a scenario names a kind by its key, and
the nemesis drives every kind through the one interface of `base`.

>>> sorted(KINDS)
['kill', 'toxic']
"""

from faults.kinds.base import ActiveFault, FaultContext, FaultKind, Measured, ProcessControl
from faults.kinds.kill import KillKind
from faults.kinds.toxic import ToxicKind

KINDS: dict[str, FaultKind] = {kind.name: kind for kind in (ToxicKind(), KillKind())}

__all__ = [
    "KINDS",
    "ActiveFault",
    "FaultContext",
    "FaultKind",
    "Measured",
    "ProcessControl",
]
