"""Readiness checks of the local backend's services: an HTTP answer, a line in a log."""

from collections.abc import Callable
from pathlib import Path

import requests

HTTP_PROBE_TIMEOUT_S = 1.0

ReadyCheck = Callable[[], bool]


def http_ok(url: str) -> bool:
    """Whether a GET of `url` answers 200 within HTTP_PROBE_TIMEOUT_S."""
    try:
        return requests.get(url, timeout=HTTP_PROBE_TIMEOUT_S).status_code == 200
    except requests.RequestException:
        return False


def log_count_check(path: Path, line: str) -> ReadyCheck:
    """A readiness check: `line` appears once more in `path` than when last seen, so the
    same check also tells a restarted service (which appends to the log) is ready."""

    def count() -> int:
        try:
            return path.read_text(errors="replace").count(line)
        except OSError:
            return 0

    seen = count()

    def check() -> bool:
        nonlocal seen
        current = count()
        ready, seen = current > seen, max(seen, current)
        return ready

    return check
