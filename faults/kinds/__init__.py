"""Fault kinds, one module each (DESIGN.md "Faults"): a scenario names a kind by its key, and
the nemesis drives every kind through the one interface of `base`.

A kind's module registers it by defining `KIND`: the registry below finds every such module,
so a new kind is its module (and its test) alone. The scenario loader, the random nemesis and
a stateful test read each kind's facts (schema, `draw`, `check`, ...) from `KINDS`.

>>> sorted(KINDS)
['failover', 'failpoint', 'kill', 'partition', 'pause', 'replica_lag', 'restart', 'toxic']
>>> RANDOM_NEMESIS_KINDS
['kill', 'partition', 'pause', 'replica_lag', 'restart', 'toxic']
>>> kind_of({"name": "cut", "at_s": 1, "partition": {"link": "api"}})
'partition'
"""

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from faults.kinds.base import (
    ActiveFault,
    FaultContext,
    FaultKind,
    Injection,
    Measured,
    ProcessControl,
)


def _registered() -> dict[str, FaultKind]:
    kinds: dict[str, FaultKind] = {}
    for module in pkgutil.iter_modules(__path__):
        kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KIND", None)
        if kind is not None:
            assert kind.name not in kinds, f"two modules register the fault kind {kind.name}"
            kinds[kind.name] = kind
    return dict(sorted(kinds.items()))


KINDS: dict[str, FaultKind] = _registered()
# The kinds the seeded random nemesis may be given to choose from.
RANDOM_NEMESIS_KINDS = [name for name, kind in KINDS.items() if kind.random_nemesis]


def kind_of(step: Mapping[str, Any]) -> str:
    """The kind a scenario's fault step names: its one key that is a kind's name."""
    return next(name for name in KINDS if name in step)


__all__ = [
    "KINDS",
    "RANDOM_NEMESIS_KINDS",
    "ActiveFault",
    "FaultContext",
    "FaultKind",
    "Injection",
    "Measured",
    "ProcessControl",
    "kind_of",
]
