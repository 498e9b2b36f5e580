"""Fault kinds, one module each (DESIGN.md "Faults"): a scenario names a kind by its key, and
the nemesis drives every kind through the one interface of `base`.

>>> sorted(KINDS)
['failover', 'failpoint', 'kill', 'partition', 'pause', 'replica_lag', 'restart', 'toxic']
"""

from faults.kinds.base import ActiveFault, FaultContext, FaultKind, Measured, ProcessControl
from faults.kinds.failover import FailoverKind
from faults.kinds.failpoint import FailpointKind
from faults.kinds.kill import KillKind
from faults.kinds.partition import PartitionKind
from faults.kinds.pause import PauseKind
from faults.kinds.replica_lag import ReplicaLagKind
from faults.kinds.restart import RestartKind
from faults.kinds.toxic import ToxicKind

KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        ToxicKind(),
        KillKind(),
        PauseKind(),
        RestartKind(),
        PartitionKind(),
        ReplicaLagKind(),
        FailoverKind(),
        FailpointKind(),
    )
}

__all__ = [
    "KINDS",
    "ActiveFault",
    "FaultContext",
    "FaultKind",
    "Measured",
    "ProcessControl",
]
