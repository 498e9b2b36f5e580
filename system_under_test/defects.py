"""Defect switches: known bugs the harness must catch, turned on by PAYCHAOS_SUT_DEFECTS."""

import os

DEFECTS_ENV = "PAYCHAOS_SUT_DEFECTS"

KNOWN_DEFECTS = frozenset(
    {
        "network-retry-on-timeout",
        "no-idempotency",
        "skip-processing-state",
        "ack-before-commit",
        "balance-from-replica",
        "no-row-lock",
        "webhook-mark-before-send",
    }
)


class UnknownDefectError(ValueError):
    """A defect name that this system does not know."""


def parse_defects(text: str) -> frozenset[str]:
    """Parse a comma-separated defect list, rejecting unknown names.

    >>> sorted(parse_defects("network-retry-on-timeout, "))
    ['network-retry-on-timeout']
    """
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(names - KNOWN_DEFECTS)
    if unknown:
        known = ", ".join(sorted(KNOWN_DEFECTS))
        raise UnknownDefectError(f"unknown defect {unknown[0]!r} in {DEFECTS_ENV}; known: {known}")
    return frozenset(names)


def defects_from_environment() -> frozenset[str]:
    """The defects switched on for this process."""
    return parse_defects(os.environ.get(DEFECTS_ENV, ""))
