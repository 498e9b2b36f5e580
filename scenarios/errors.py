"""The errors of harness problems the user can fix (bad input, a topology already up)."""


class HarnessError(RuntimeError):
    """A problem the user can fix; the CLI prints it as one line and exits 3."""


class ScenarioError(ValueError):
    """A scenario that cannot be found, parsed or validated; the message is one line."""
