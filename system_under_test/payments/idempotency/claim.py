"""The claim decision of an idempotent request, without I/O: given the key's stored row and the
incoming request, replay, refuse, or proceed from a recovery point."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from system_under_test.payments.idempotency.recovery_points import RECOVERY_POINTS


@dataclass(frozen=True)
class Fingerprint:
    """What makes two requests "the same request": method, path and parameters."""

    method: str
    path: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class StoredKey:
    """An idempotency key row as the claim decision needs it."""

    id: int
    fingerprint: Fingerprint
    recovery_point: str
    lock_version: int
    locked_at: datetime.datetime | None
    object_id: str | None
    response_code: int | None
    response_body: Mapping[str, Any] | None


@dataclass(frozen=True)
class Replay:
    """The key's request finished: answer with its stored response."""

    status_code: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class ParametersMismatch:
    """The key was first used for another endpoint or other parameters."""


@dataclass(frozen=True)
class InUse:
    """Another request holds the key's lock and may still be running."""


@dataclass(frozen=True)
class Proceed:
    """Run the request from `recovery_point` under `lock_version`.

    Every later phase commits only while the key's version is still `lock_version`: a request
    that took the key over bumped it, and the one it superseded can then change nothing.
    """

    key_id: int
    recovery_point: str
    lock_version: int
    object_id: str | None
    took_over: bool


Claim = Replay | ParametersMismatch | InUse | Proceed


def decide_claim(
    stored: StoredKey,
    request: Fingerprint,
    *,
    kind: str,
    now: datetime.datetime,
    lock_ttl: datetime.timedelta,
) -> Claim:
    """What a request may do with an existing key.

    A lock older than `lock_ttl` belongs to a request presumed dead; taking it over is safe
    whatever that request still does, because the new version fences it out.

    >>> t = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    >>> f = Fingerprint("POST", "/v1/charges", {"amount": "5"})
    >>> k = StoredKey(1, f, "started", 1, t, None, None, None)
    >>> ttl = datetime.timedelta(seconds=15)
    >>> decide_claim(k, f, kind="charge", now=t + datetime.timedelta(seconds=1), lock_ttl=ttl)
    InUse()
    >>> later = t + datetime.timedelta(seconds=20)
    >>> decide_claim(k, f, kind="charge", now=later, lock_ttl=ttl).lock_version
    2
    """
    if stored.fingerprint != request:
        return ParametersMismatch()
    # Same method and path: the key was made by a request of this kind.
    points = RECOVERY_POINTS[kind]
    assert stored.recovery_point in points, f"unknown recovery point {stored.recovery_point!r}"
    if stored.response_code is not None:
        assert stored.response_body is not None, f"key {stored.id} has a code but no body"
        return Replay(stored.response_code, stored.response_body)
    if stored.locked_at is not None and now - stored.locked_at < lock_ttl:
        return InUse()
    return Proceed(
        key_id=stored.id,
        recovery_point=stored.recovery_point,
        lock_version=stored.lock_version + 1,
        object_id=stored.object_id,
        took_over=stored.locked_at is not None,
    )
