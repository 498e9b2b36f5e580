"""Verdicts, anomalies and checker results, and how verdicts combine."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from invariants.model.records import gc_paused
from invariants.model.run import RunInputs


class Verdict(StrEnum):
    """Three-valued validity: ``unknown`` means the run could not show either way."""

    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"


# Combining ranks invalid over unknown over valid: one proven violation decides a run, and an
# undecided check keeps a run from passing.
_RANK = {Verdict.VALID: 0, Verdict.UNKNOWN: 1, Verdict.INVALID: 2}


@dataclass(frozen=True)
class Anomaly:
    """One finding of a checker, with the evidence that points back at ops, rows and faults.

    ``evidence`` is plain JSON data: op indexes, keys, rows, ``faults_active``.
    """

    kind: str
    message: str
    evidence: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InvariantResult:
    """The verdict of one invariant.

    ``error`` says why a verdict is ``unknown`` when no anomaly does (the checker raised, or a
    read it needed was incomplete). A valid result has no anomalies and no error; an invalid
    one has at least one anomaly; an unknown one says why, by anomalies or error.
    """

    name: str
    verdict: Verdict
    anomalies: tuple[Anomaly, ...] = ()
    error: str | None = None

    def __post_init__(self) -> None:
        # Accept "valid" as well as Verdict.VALID; an unknown string raises ValueError here.
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        if self.verdict is Verdict.VALID and (self.anomalies or self.error):
            raise ValueError(f"{self.name}: a valid result cannot carry anomalies or an error")
        if self.verdict is Verdict.INVALID and not self.anomalies:
            raise ValueError(f"{self.name}: an invalid result needs at least one anomaly")
        if self.verdict is Verdict.UNKNOWN and not (self.anomalies or self.error):
            raise ValueError(f"{self.name}: an unknown result must say why (anomalies or error)")


Checker = Callable[[RunInputs], InvariantResult]


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Combine verdicts: invalid over unknown over valid; no verdict at all is unknown.

    >>> combine([Verdict.VALID, Verdict.UNKNOWN])
    <Verdict.UNKNOWN: 'unknown'>
    """
    # Checking nothing proves nothing, so an empty list must not pass.
    return max(verdicts, key=_RANK.__getitem__, default=Verdict.UNKNOWN)


def decide(
    name: str, anomalies: Sequence[Anomaly], *, undecided_reason: str | None = None
) -> InvariantResult:
    """Result of a checker that found ``anomalies``; ``undecided_reason`` blocks a valid.

    Anomalies make it invalid. Without any, it is unknown when ``undecided_reason`` is given
    (e.g. an incomplete read could hide a violation), valid otherwise.
    """
    if anomalies:
        return InvariantResult(name, Verdict.INVALID, tuple(anomalies))
    if undecided_reason is not None:
        return InvariantResult(name, Verdict.UNKNOWN, error=undecided_reason)
    return InvariantResult(name, Verdict.VALID)


def run_checker(name: str, checker: Checker, run: RunInputs) -> InvariantResult:
    """Run one checker; a checker that raises gives unknown with the exception, never valid."""
    try:
        with gc_paused():
            result = checker(run)
        if not isinstance(result, InvariantResult) or result.name != name:
            raise TypeError(f"checker returned {result!r}, not an InvariantResult named {name!r}")
    # Any failure of a checker, its own bugs included, must turn into unknown, never a pass.
    except Exception as error:
        return InvariantResult(name, Verdict.UNKNOWN, error=f"{type(error).__name__}: {error}")
    return result
