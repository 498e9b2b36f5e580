"""The OpenAPI contract, held against every response the tests receive from the API.

Helpers that talk to an API register its base URL; every response from a registered base, to
requests the tests or the official SDK send through `requests`, is recorded and then
validated against /openapi.json's document (status, content type, headers, body schema).
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import jsonschema
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.exceptions import PathError

from system_under_test.api.openapi import DOCUMENT
from system_under_test.api.openapi_components import ERROR

_API_BASES: set[str] = set()
_LOCK = threading.Lock()
_SPEC = OpenAPI.from_dict(DOCUMENT)
_ERROR_VALIDATOR = jsonschema.Draft202012Validator(ERROR)
# How many responses were checked over the whole session (printed by the SDK suite).
checked_count = 0


def register_api(base_url: str) -> None:
    """Hold the responses of the API at `base_url` to the contract."""
    with _LOCK:
        _API_BASES.add(base_url.rstrip("/"))


def _from_api(url: str) -> bool:
    with _LOCK:
        return any(url.startswith(base + "/") for base in _API_BASES)


def violations(response: requests.Response) -> list[str]:
    """How one response breaks the contract (empty when it keeps it).

    A request to a path or method the API does not have is outside the document; its answer
    must still be a Stripe error in JSON, 404 or 405, not to be retried.
    """
    request = RequestsOpenAPIRequest(response.request)
    errors = list(_SPEC.iter_response_errors(request, RequestsOpenAPIResponse(response)))
    if len(errors) == 1 and isinstance(errors[0], PathError):
        return _off_the_map(response)
    return [f"{type(error).__name__}: {error}" for error in errors]


def _off_the_map(response: requests.Response) -> list[str]:
    problems = []
    if response.status_code not in (404, 405):
        problems.append(f"status {response.status_code} for a route the API does not have")
    if response.headers.get("Stripe-Should-Retry") == "true":
        problems.append("a request to a missing route is marked retryable")
    try:
        _ERROR_VALIDATOR.validate(response.json())
    except (ValueError, jsonschema.ValidationError) as error:
        problems.append(f"not a Stripe error: {str(error).splitlines()[0]}")
    return problems


@contextmanager
def recording() -> Iterator[list[requests.Response]]:
    """Record every response from a registered API while the block runs."""
    recorded: list[requests.Response] = []
    original = requests.adapters.HTTPAdapter.send

    def send(adapter, request, *args, **kwargs):
        response = original(adapter, request, *args, **kwargs)
        if _from_api(request.url):
            with _LOCK:
                recorded.append(response)
        return response

    requests.adapters.HTTPAdapter.send = send
    try:
        yield recorded
    finally:
        requests.adapters.HTTPAdapter.send = original


def check(recorded: list[requests.Response]) -> list[str]:
    """Every violation of the recorded responses, each naming its request."""
    global checked_count
    found = []
    for response in recorded:
        problems = violations(response)
        found += [
            f"{response.request.method} {response.request.url} -> {response.status_code}: {problem}"
            for problem in problems
        ]
    checked_count += len(recorded)
    return found
