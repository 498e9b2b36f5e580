"""Process exit codes for a run's verdict (DESIGN.md: 0 valid, 1 invalid, 2 unknown, 3 error)."""

from invariants import Verdict

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
# Not a verdict: the harness itself failed (bad scenario, broken run file, crash).
EXIT_HARNESS_ERROR = 3
# `paychaos compare`: whether two runs ended with the same overall verdict.
EXIT_SAME_VERDICT = 0
EXIT_VERDICTS_DIFFER = 1

_EXIT_CODES = {
    Verdict.VALID: EXIT_VALID,
    Verdict.INVALID: EXIT_INVALID,
    Verdict.UNKNOWN: EXIT_UNKNOWN,
}


def exit_code(verdict: Verdict | str) -> int:
    """The exit code for a verdict; a string that is no verdict raises :class:`ValueError`.

    >>> exit_code("invalid")
    1
    """
    return _EXIT_CODES[Verdict(verdict)]
