"""The admin endpoint of a service (test mode only, its own listener on loopback): arm and
read the service's failpoints. The API and the worker each serve one.

POST   /failpoints  {"name": "charge.after_processing_commit", "action": "crash", "nth": 5}
GET    /failpoints  armed points, and per point how often it was reached, fired and hangs now
DELETE /failpoints  disarm every point (and let every hanging hit go on)

A bad arming call is a 400 whose message starts with the field it is about; any other route is
a 404 (a 405 for another method on /failpoints), and a call from off loopback a 403, each with
a JSON error.
"""

import ipaddress
from http import HTTPStatus

from aiohttp import web

from http_bounds import BoundedSite, ServerBounds, bounded_runner
from system_under_test.failpoints import Failpoints, FailpointSpecError

ARM_FIELDS = frozenset({"name", "action", "nth", "delay_ms"})
ROUTES = "GET, POST and DELETE /failpoints"
FAILPOINTS = web.AppKey("failpoints", Failpoints)
ADMIN_BOUNDS = ServerBounds(
    # The harness's aiohttp client keeps an idle connection 15 s; arming bodies are tens of
    # bytes on loopback with no fault on the way, so 30 s and 10 s are far above any real call.
    header_read_timeout_s=30.0,
    body_read_timeout_s=10.0,
    # One harness arms a service's failpoints, a call at a time; 32 leaves room for tests.
    connections_per_address_max=32,
)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=status)


def is_loopback(host: str | None) -> bool:
    """Whether `host` is a loopback address (a name, even `localhost`, is not an address).

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("10.0.0.5")
    (True, True, False)
    """
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@web.middleware
async def loopback_and_json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Refuse callers off loopback (the listener binds loopback only; this holds even if it
    were bound wider), and answer routing errors in JSON, naming what exists."""
    if not is_loopback(request.remote):
        return _error(
            HTTPStatus.FORBIDDEN, f"the admin endpoint answers loopback only, not {request.remote}"
        )
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _error(
            HTTPStatus.NOT_FOUND, f"no route {request.path}; the admin endpoint has {ROUTES}"
        )
    except web.HTTPMethodNotAllowed:
        return _error(
            HTTPStatus.METHOD_NOT_ALLOWED,
            f"no {request.method} on {request.path}; it takes {ROUTES}",
        )


def arming_problem(body: object) -> str | None:
    """What is wrong with an arming body before the failpoints judge its values, naming the
    field; None if its shape is right.

    >>> arming_problem({"name": "charge.after_send", "action": "crash", "nth": "5"})
    'nth: must be an integer, got "5"'
    """
    if not isinstance(body, dict):
        return "body: must be a JSON object"
    unknown = sorted(set(body) - ARM_FIELDS)
    if unknown:
        return f"{unknown[0]}: unknown field; known: {', '.join(sorted(ARM_FIELDS))}"
    for field in ("name", "action"):
        if field not in body:
            return f"{field}: required"
        if not isinstance(body[field], str):
            return f"{field}: must be a string, got {_json_text(body[field])}"
    for field in ("nth", "delay_ms"):
        # bool is an int in Python, not in JSON: `true` is not a count.
        if field in body and type(body[field]) is not int:
            return f"{field}: must be an integer, got {_json_text(body[field])}"
    return None


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


async def arm(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _error(HTTPStatus.BAD_REQUEST, "body: must be a JSON object")
    problem = arming_problem(body)
    if problem is not None:
        return _error(HTTPStatus.BAD_REQUEST, problem)
    try:
        request.app[FAILPOINTS].arm(
            body["name"], body["action"], nth=body.get("nth", 1), delay_ms=body.get("delay_ms", 0)
        )
    except FailpointSpecError as error:
        return _error(HTTPStatus.BAD_REQUEST, str(error))
    return web.json_response(request.app[FAILPOINTS].status())


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAILPOINTS].status())


async def disarm(request: web.Request) -> web.Response:
    request.app[FAILPOINTS].disarm_all()
    return web.json_response(request.app[FAILPOINTS].status())


def make_admin_app(failpoints: Failpoints) -> web.Application:
    """The admin application over a service's own failpoints."""
    app = web.Application(middlewares=[loopback_and_json_errors])
    app[FAILPOINTS] = failpoints
    app.router.add_post("/failpoints", arm)
    app.router.add_get("/failpoints", status)
    app.router.add_delete("/failpoints", disarm)
    return app


def admin_address(text: str | None, *, test_mode: bool) -> tuple[str, int] | None:
    """The admin listener's address: required in test mode, refused outside it, loopback only.

    Raises ValueError naming the problem.

    >>> admin_address("127.0.0.1:9000", test_mode=True)
    ('127.0.0.1', 9000)
    """
    if text is None:
        if test_mode:
            raise ValueError("test mode needs --admin-listen 127.0.0.1:PORT")
        return None
    if not test_mode:
        raise ValueError("--admin-listen is for test mode only")
    host, _, port = text.rpartition(":")
    if not is_loopback(host) or not port.isascii() or not port.isdigit():
        raise ValueError(f"--admin-listen {text}: the admin endpoint binds to loopback only")
    if not 0 < int(port) < 65536:
        raise ValueError(f"--admin-listen {text}: port must be 1..65535")
    return host, int(port)


async def serve_admin(failpoints: Failpoints, address: tuple[str, int]) -> web.AppRunner:
    """Start the admin listener; the caller cleans the returned runner up."""
    runner = bounded_runner(make_admin_app(failpoints), ADMIN_BOUNDS, access_log=None)
    await runner.setup()
    try:
        await BoundedSite(runner, *address, bounds=ADMIN_BOUNDS).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
