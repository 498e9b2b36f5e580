"""The error of a harness problem the user can fix (bad input, a topology already up)."""


class HarnessError(RuntimeError):
    """A problem the user can fix; the CLI prints it as one line and exits 3."""
