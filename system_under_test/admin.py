"""The admin endpoint of a service (test mode only, its own listener on loopback): arm and
read the service's failpoints. The API and the worker each serve one.

POST   /failpoints  {"name": "charge.after_processing_commit", "action": "crash", "nth": 5}
GET    /failpoints  armed points, and per point how often it was reached and fired
DELETE /failpoints  disarm every point
"""

import ipaddress

from aiohttp import web

from system_under_test.failpoints import Failpoints, FailpointSpecError

ARM_FIELDS = frozenset({"name", "action", "nth", "delay_ms"})
FAILPOINTS = web.AppKey("failpoints", Failpoints)


def _bad(message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=400)


async def arm(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _bad("body must be a JSON object")
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    unknown = sorted(set(body) - ARM_FIELDS)
    if unknown:
        return _bad(f"unknown field {unknown[0]!r}; known: {', '.join(sorted(ARM_FIELDS))}")
    name, action = body.get("name"), body.get("action")
    nth, delay_ms = body.get("nth", 1), body.get("delay_ms", 0)
    if not isinstance(name, str) or not isinstance(action, str):
        return _bad("name and action must be strings")
    if type(nth) is not int or type(delay_ms) is not int:
        return _bad("nth and delay_ms must be integers")
    try:
        request.app[FAILPOINTS].arm(name, action, nth=nth, delay_ms=delay_ms)
    except FailpointSpecError as error:
        return _bad(str(error))
    return web.json_response(request.app[FAILPOINTS].status())


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAILPOINTS].status())


async def disarm(request: web.Request) -> web.Response:
    request.app[FAILPOINTS].disarm_all()
    return web.json_response(request.app[FAILPOINTS].status())


def make_admin_app(failpoints: Failpoints) -> web.Application:
    """The admin application over the API's own failpoints."""
    app = web.Application()
    app[FAILPOINTS] = failpoints
    app.router.add_post("/failpoints", arm)
    app.router.add_get("/failpoints", status)
    app.router.add_delete("/failpoints", disarm)
    return app


def admin_address(text: str | None, *, test_mode: bool) -> tuple[str, int] | None:
    """The admin listener's address: required in test mode, refused outside it, loopback only.

    Raises ValueError naming the problem.
    """
    if text is None:
        if test_mode:
            raise ValueError("test mode needs --admin-listen 127.0.0.1:PORT")
        return None
    if not test_mode:
        raise ValueError("--admin-listen is for test mode only")
    host, _, port = text.rpartition(":")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or not port.isascii() or not port.isdigit():
        raise ValueError(f"--admin-listen {text}: the admin endpoint binds to loopback only")
    return host, int(port)


async def serve_admin(failpoints: Failpoints, address: tuple[str, int]) -> web.AppRunner:
    """Start the admin listener; the caller cleans the returned runner up."""
    runner = web.AppRunner(make_admin_app(failpoints), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, *address).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
