"""Helpers of the run-file readers and writers: errors that say where, the garbage collector
paused, and JSON lines in index order."""

import gc
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import msgspec

from invariants.model.errors import RunFileError

T = TypeVar("T")
# Enough to show an id or a small object in an error message, short enough to stay one line.
_SHOWN_CHARS_MAX = 80
_LINE_ENCODER = msgspec.json.Encoder()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles.

    Why: on CPython 3.11 each allocation burst of containers triggers collections that walk
    every live container; with a million ops alive, grouping them took three times longer
    (measured). Reference counting still frees everything built here.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def shown(value: object) -> str:
    """A value as JSON for an error message, cut short: the start is enough to recognize it."""
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_CHARS_MAX else text[:_SHOWN_CHARS_MAX] + "..."


# msgspec's names of JSON types, as the errors of this project say them.
_MSGSPEC_TYPE_NAMES = {
    "int": "an integer",
    "str": "a string",
    "bool": "a boolean",
    "object": "an object",
    "array": "a list",
    "null": "null",
    "float": "a number",
}
_MSGSPEC_ERROR = re.compile(r"(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?", re.S)
_FIELD_PATH = re.compile(r"(?P<container>.*)\.(?P<field>[A-Za-z_][A-Za-z0-9_]*)")


def validation_problem(error: Exception, where: str) -> RunFileError:
    """A msgspec decode or validation error as this project says it: ``where``, the row
    (``refunds[3]``) and the field, e.g. ``final_state.json: refunds[3]: field 'amount' must be
    an integer, got a string``."""
    match = _MSGSPEC_ERROR.fullmatch(str(error))
    assert match is not None, "the pattern matches any text"
    problem, path = match["problem"], match["path"] or ""
    missing = re.fullmatch(r"Object missing required field `(.+)`", problem)
    if missing:
        return RunFileError(f"{_located(where, path)}missing field {missing[1]!r}")
    field_path = _FIELD_PATH.fullmatch(path)
    if field_path is None:
        return RunFileError(f"{_located(where, path)}{_said(problem)}")
    subject = f"{_located(where, field_path['container'])}field {field_path['field']!r}"
    return RunFileError(f"{subject} {_said(problem, as_predicate=True)}")


def _located(where: str, container: str) -> str:
    container = container.lstrip(".")
    return f"{where}: {container}: " if container else f"{where}: "


def _said(problem: str, *, as_predicate: bool = False) -> str:
    expected = re.fullmatch(r"Expected `(.+)`, got `(.+)`", problem)
    if expected:
        wanted = " or ".join(
            _MSGSPEC_TYPE_NAMES.get(name, name) for name in expected[1].split(" | ")
        )
        got = _MSGSPEC_TYPE_NAMES.get(expected[2], expected[2])
        return f"must be {wanted}, got {got}" if as_predicate else f"expected {wanted}, got {got}"
    invalid = re.fullmatch(r"Invalid enum value (.+)", problem)
    if invalid:
        return f"must be one of the values the contract names, got {invalid[1]}"
    return problem[:1].lower() + problem[1:]


def load_document(path: Path, decoder: "msgspec.json.Decoder[T]") -> T:
    """Decode the JSON document at ``path`` with ``decoder``; errors name the file and field.

    A missing or unreadable file raises :class:`OSError`.
    """
    try:
        return decoder.decode(path.read_bytes())
    except msgspec.ValidationError as error:
        raise validation_problem(error, str(path)) from None
    except msgspec.DecodeError as error:
        raise RunFileError(f"{path}: not valid JSON ({error})") from None


def encode_document(document: object) -> bytes:
    """A JSON document as the run directory keeps it: indented for a reader, one final newline."""
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


class _Indexed(Protocol):
    """An event of a JSON-lines run file, which its ``index`` places in the file."""

    @property
    def index(self) -> int: ...


def lines_in_index_order(events: Iterable[_Indexed]) -> Iterator[bytes]:
    """The JSON lines of ``events``, each with its newline, in ``index`` order: how
    ``history.jsonl`` and ``faults.jsonl`` are written back from what was read.

    >>> class Event(msgspec.Struct):
    ...     index: int
    >>> list(lines_in_index_order([Event(1), Event(0)]))
    [b'{"index":0}\\n', b'{"index":1}\\n']
    """
    for event in sorted(events, key=lambda event: event.index):
        yield _LINE_ENCODER.encode(event) + b"\n"


def convert_document(document: object, type_: type[T], *, source: str) -> T:
    """Validate a JSON object already decoded (or built in memory) as ``type_``; errors name
    ``source`` and the field."""
    if type(document) is not dict:
        raise RunFileError(f"{source}: expected an object")
    try:
        return msgspec.convert(document, type_)
    except msgspec.ValidationError as error:
        raise validation_problem(error, source) from None
