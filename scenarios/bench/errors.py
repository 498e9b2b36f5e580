"""The one error type of the bench: a part that could not run, named in the message."""


class BenchError(RuntimeError):
    """The bench could not run one of its parts; the message names it."""
