"""A scenario file read into plain data, within bounds: its size, its nesting, no YAML aliases,
and finite numbers only; every problem is a one-line :class:`ScenarioError` that names the
place (line and column, or the key path) and quotes at most a short excerpt of the file.
"""

import math
import re
from pathlib import Path

import jsonschema
import yaml

from scenarios.errors import ScenarioError

# The largest bundled scenario is about 4 KB; a fixed schedule of a few thousand fault steps
# still fits in 1 MiB, which PyYAML's parser reads in about a third of a second (measured:
# 60 MB took 20 s). Beyond it a file is no hand-written scenario.
SCENARIO_BYTES_MAX = 1024 * 1024
# A scenario nests about five deep (workload.retry, faults[i].toxic.attributes); the composer
# recurses once per level, so a file of nothing but brackets would exhaust the stack.
NESTING_DEPTH_MAX = 32
# Enough of a value to recognize it in an error, short enough to keep the error one line.
EXCERPT_CHARS_MAX = 60
MESSAGE_CHARS_MAX = 200
# The shape of a scenario's keys, typos included: anything else is not quoted.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,40}")


class _ScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases and with a bound on nesting.

    Aliases are refused outright rather than counted: nine aliases to a list of nine aliases,
    nine levels deep, already expand to 9**9 nodes, so no count of aliases bounds the
    expansion, and a scenario gains nothing from them that repeating a line would not give.
    """

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused("YAML aliases (*name) are not accepted in scenario files", event)
        if self._depth >= NESTING_DEPTH_MAX:
            raise _Refused(f"nested deeper than {NESTING_DEPTH_MAX} levels", event)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Refused(yaml.YAMLError):
    """A well-formed YAML construct that a scenario file may not use."""

    def __init__(self, problem: str, event: yaml.Event) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = event.start_mark


def excerpt(text: str) -> str:
    """``text`` cut to a short excerpt, on one line.

    >>> excerpt("x" * 100)[-5:]
    'xx...'
    """
    text = text.replace("\n", " ")
    return text if len(text) <= EXCERPT_CHARS_MAX else text[:EXCERPT_CHARS_MAX] + "..."


def schema_message(error: jsonschema.ValidationError) -> str:
    """A schema error's message with the value it quotes cut to an excerpt."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return _unexpected_keys(error)
    quoted = repr(error.instance)
    message = error.message.replace(quoted, excerpt(quoted))
    # Other quotes (the unexpected keys) are the file's too: the whole line stays short.
    return message if len(message) <= MESSAGE_CHARS_MAX else message[:MESSAGE_CHARS_MAX] + "..."


def _unexpected_keys(error: jsonschema.ValidationError) -> str:
    """Which keys were unexpected, naming only those shaped as keys: the "keys" of a file that
    is no scenario (each line of a password file) are its contents."""
    known = error.schema.get("properties", {})
    unexpected = [key for key in error.instance if key not in known]
    named = [key for key in unexpected if isinstance(key, str) and _KEY_SHAPE.fullmatch(key)]
    if len(named) == len(unexpected):
        return error.message
    among = f", among them {', '.join(map(repr, named))}" if named else ""
    return (
        f"Additional properties are not allowed ({len(unexpected)} unexpected keys{among}; "
        "keys not shaped as a scenario's are not shown)"
    )[:MESSAGE_CHARS_MAX]


def read_scenario_document(path: Path) -> tuple[bytes, dict]:
    """The bytes of the scenario file at ``path`` and the plain data they hold."""
    try:
        with path.open("rb") as file:
            # Read one byte past the bound: a file that grows, or a pseudo-file that reports
            # size 0, is still measured by what it gives.
            raw = file.read(SCENARIO_BYTES_MAX + 1)
    except OSError as error:
        raise ScenarioError(f"cannot read scenario {path}: {error.strerror}") from None
    if len(raw) > SCENARIO_BYTES_MAX:
        raise ScenarioError(f"{path}: larger than {SCENARIO_BYTES_MAX} bytes; not a scenario")
    try:
        data = yaml.load(raw, Loader=_ScenarioLoader)
    except _Refused as error:
        raise ScenarioError(f"{path}:{_where(error)}: {error.problem}") from None
    except yaml.YAMLError as error:
        problem = excerpt(getattr(error, "problem", None) or "invalid YAML")
        raise ScenarioError(f"{path}:{_where(error)}: unparsable YAML: {problem}") from None
    if not isinstance(data, dict):
        # Never quoted: a file that is no scenario (a password file) may be anything.
        raise ScenarioError(
            f"{path}: not a scenario: a mapping of keys (name, seed, workload, ...) expected, "
            f"the file holds {type(data).__name__}"
        )
    problem = non_finite_problem(data)
    if problem is not None:
        raise ScenarioError(f"{path}: {problem}")
    return raw, data


def _where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" line {mark.line + 1} column {mark.column + 1}" if mark else ""


def non_finite_problem(document: object, location: str = "") -> str | None:
    """Where ``document`` holds a number that is not finite (NaN or an infinity), or None.

    Schema bounds compare false with NaN, so a NaN would pass every one of them.

    >>> non_finite_problem({"workload": {"duration_s": float("nan")}})
    'workload.duration_s: nan is not a finite number'
    """
    if isinstance(document, float) and not math.isfinite(document):
        return f"{location or '(top level)'}: {document} is not a finite number"
    if isinstance(document, dict):
        children = (
            (f"{location}.{excerpt(str(key))}".lstrip("."), value)
            for key, value in document.items()
        )
    elif isinstance(document, list):
        children = ((f"{location}[{index}]", value) for index, value in enumerate(document))
    else:
        return None
    for child_location, value in children:
        problem = non_finite_problem(value, child_location)
        if problem is not None:
            return problem
    return None
