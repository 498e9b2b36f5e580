"""The one error raised when a run file breaks its contract."""


class RunFileError(ValueError):
    """A run file (history, faults, final state) breaks its contract.

    The message always starts with where: ``path:line`` for JSONL files, ``path: field`` for
    JSON documents, so that the writer at fault can be found without a debugger.
    """
