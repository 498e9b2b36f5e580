"""A request body of the API as JSON, within bounds: its size and how deep it nests.

Python's JSON parser recurses once per level of nesting, so a body nested deep enough exhausts
the interpreter's stack; the depth is therefore measured before parsing, without recursion.
"""

from __future__ import annotations

import json
import re

from faults.proxy import errors

# The largest body read: a /populate of the whole link table is a few KB, so this leaves a
# client room for hundreds of proxies while a runaway body is refused before it is parsed.
BODY_BYTES_MAX = 1024 * 1024

# Toxiproxy's bodies nest two deep (a /populate array of proxy objects, a toxic's attributes);
# unknown keys are ignored but still parsed, so a client's own extras get room. Far below the
# depth at which Python's parser would exhaust the stack (the interpreter's recursion limit of
# 1000 frames, shared with the handler's own frames).
NESTING_DEPTH_MAX = 64

# A JSON string, escapes included (the unrolled form scans in linear time).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_OPENING = (b"[", b"{")


def nesting_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text `raw` opens more than `limit` arrays or objects inside each other.

    Brackets inside strings do not count.

    >>> nesting_depth_exceeds(b'{"a": [[1], {"b": "[[[["}]}', 3)
    False
    >>> nesting_depth_exceeds(b"[[[[]]]]", 3)
    True
    """
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if bracket.group() in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_body(raw: bytes) -> object:
    """Parse a request body; raise a 400 ApiError if it is empty, too deep or not JSON.

    Its size is bounded before it is read (the API's `client_max_size`, answered by
    `too_large`).

    >>> parse_body(b'{"name": "api"}')
    {'name': 'api'}
    >>> parse_body(b"[" * 100 + b"]" * 100)
    Traceback (most recent call last):
    ...
    faults.proxy.errors.ApiError: bad request body: nested deeper than 64 levels
    """
    if not raw.strip():
        raise errors.bad_request_body("empty body, expected JSON")
    if nesting_depth_exceeds(raw, NESTING_DEPTH_MAX):
        raise errors.bad_request_body(f"nested deeper than {NESTING_DEPTH_MAX} levels")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise errors.bad_request_body(str(error)) from None


def too_large() -> errors.ApiError:
    """The 400 for a body over BODY_BYTES_MAX."""
    return errors.bad_request_body(f"larger than {BODY_BYTES_MAX} bytes")
