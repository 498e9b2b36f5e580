"""The API errors of the fault proxy, with the messages and status codes of Toxiproxy 2.x."""

from __future__ import annotations

import os
import socket
from http import HTTPStatus


class ApiError(Exception):
    """An error the HTTP API answers as `{"error": message, "status": status}`.

    >>> ApiError("proxy not found", HTTPStatus.NOT_FOUND).body()
    {'error': 'proxy not found', 'status': 404}
    """

    def __init__(self, message: str, status: HTTPStatus) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> dict[str, object]:
        """Return the JSON body Toxiproxy clients expect for this error."""
        return {"error": self.message, "status": int(self.status)}


def bad_request_body(reason: str) -> ApiError:
    """A 400 for a body that is not the JSON the endpoint needs; `reason` says what was wrong."""
    return ApiError(f"bad request body: {reason}", HTTPStatus.BAD_REQUEST)


def missing_field(field: str) -> ApiError:
    """A 400 for a required field that is absent or empty."""
    return ApiError(f"missing required field: {field}", HTTPStatus.BAD_REQUEST)


def proxy_not_found() -> ApiError:
    """A 404 for an unknown proxy name."""
    return ApiError("proxy not found", HTTPStatus.NOT_FOUND)


def proxy_already_exists() -> ApiError:
    """A 409 for a create with a name already in use."""
    return ApiError("proxy already exists", HTTPStatus.CONFLICT)


def invalid_stream() -> ApiError:
    """A 400 for a stream other than upstream/downstream."""
    return ApiError(
        "stream was invalid, can be either upstream or downstream", HTTPStatus.BAD_REQUEST
    )


def invalid_toxic_type() -> ApiError:
    """A 400 for a toxic type this server does not know."""
    return ApiError("invalid toxic type", HTTPStatus.BAD_REQUEST)


def toxic_already_exists() -> ApiError:
    """A 409 for a toxic name already used on the proxy (names are unique across streams)."""
    return ApiError("toxic already exists", HTTPStatus.CONFLICT)


def toxic_not_found() -> ApiError:
    """A 404 for an unknown toxic name."""
    return ApiError("toxic not found", HTTPStatus.NOT_FOUND)


def listen_failed(address: str, reason: str) -> ApiError:
    """A 500 for a listener that could not be bound (port taken, address not local...)."""
    return ApiError(f"cannot listen on {address}: {reason}", HTTPStatus.INTERNAL_SERVER_ERROR)


def os_error_reason(error: OSError) -> str:
    """Describe a socket error in `strerror` words, lower case: 'address already in use'."""
    if error.errno is not None and not isinstance(error, socket.gaierror):
        return os.strerror(error.errno).lower()
    return str(error)
