"""Reading JSON records of run files and checking their fields, with errors that say where."""

import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import NoneType

from invariants.model.errors import RunFileError

_MISSING = object()
_KIND_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    dict: "an object",
    list: "a list",
    NoneType: "null",
}
_DECODER = json.JSONDecoder()
# Enough to show an id or a small object in an error message, short enough to stay one line.
_SHOWN_CHARS_MAX = 80


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each line of a JSONL file, line numbers from 1.

    A line that is not one JSON object (blank, truncated by a crash, a list) raises
    :class:`RunFileError` naming the file and line: a half-written history is a broken run,
    not something to guess around.
    """
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            yield line_number, _decode_line(line, path, line_number)


def _decode_line(line: str, path: Path, line_number: int) -> dict:
    # raw_decode skips json.loads' whitespace regexes: a third less time on million-line files.
    # Anything unusual (leading blanks, trailing data, bad JSON) goes through json.loads, which
    # gives the exact error.
    try:
        record, end = _DECODER.raw_decode(line)
        if line[end:].strip():
            raise ValueError("trailing data")
    except ValueError:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise RunFileError(f"{path}:{line_number}: not valid JSON ({error.msg})") from None
    if type(record) is not dict:
        raise RunFileError(f"{path}:{line_number}: expected a JSON object")
    return record


class Shape:
    """The fields a JSON object must have, each with the JSON types it may take.

    Types are matched exactly, so ``true`` is not an integer. Fields not named are ignored:
    a writer may add fields before the checkers read them.

    >>> Shape(amount=int, failure_code=(str, NoneType)).pick({"amount": 5, "failure_code": None,
    ...     "extra": 1}, "final_state.json: charges[0]")
    {'amount': 5, 'failure_code': None}
    """

    def __init__(self, **fields: type | tuple[type, ...]) -> None:
        self._fields = tuple(
            (name, frozenset(kinds if isinstance(kinds, tuple) else (kinds,)))
            for name, kinds in fields.items()
        )

    @property
    def names(self) -> frozenset[str]:
        """The names of the fields."""
        return frozenset(name for name, _ in self._fields)

    def check(self, record: dict, where: str) -> None:
        """Raise :class:`RunFileError` naming ``where`` and the first field that does not fit."""
        # One loop of set lookups per record: this runs a million times for a large history.
        for name, kinds in self._fields:
            value = record.get(name, _MISSING)
            if type(value) not in kinds:
                raise RunFileError(f"{where}: {_problem(name, value, kinds)}")

    def pick(self, record: dict, where: str) -> dict:
        """Check ``record`` and return only the named fields (to build a row from)."""
        self.check(record, where)
        return {name: record[name] for name, _ in self._fields}


def require_choice(record: dict, name: str, choices: frozenset, where: str) -> None:
    """Raise :class:`RunFileError` unless ``record[name]`` is one of ``choices``."""
    value = record.get(name, _MISSING)
    # Choices are strings or None; other JSON values (objects, lists) are unhashable.
    if type(value) in (str, NoneType) and value in choices:
        return
    if value is _MISSING:
        raise RunFileError(f"{where}: missing field {name!r}")
    expected = ", ".join(sorted(json.dumps(choice) for choice in choices))
    raise RunFileError(f"{where}: field {name!r} must be one of {expected}, got {shown(value)}")


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


def _problem(name: str, value: object, kinds: frozenset) -> str:
    if value is _MISSING:
        return f"missing field {name!r}"
    expected = " or ".join(sorted(_KIND_NAMES.get(kind, kind.__name__) for kind in kinds))
    return f"field {name!r} must be {expected}, got {shown(value)}"


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
