"""A stand-in for the API whose admin listener comes up late: `/health` answers on --listen
at once, `/failpoints` on --admin-listen only LATE_S later (a loaded machine, or a bind that
waits). A deployment that calls the API ready on its health alone hands out an admin address
that refuses connections."""

import argparse
import asyncio

from aiohttp import web

# Long enough that a start which does not wait for the admin listener returns before it.
LATE_S = 3.0


async def _serve(listen: str, admin_listen: str) -> None:
    api = web.Application()
    api.router.add_get("/health", lambda request: web.json_response({"status": "ok"}))
    admin = web.Application()
    admin.router.add_get("/failpoints", lambda request: web.json_response({}))
    runners = [web.AppRunner(api), web.AppRunner(admin)]
    for runner in runners:
        await runner.setup()
    await web.TCPSite(runners[0], *_split(listen)).start()
    await asyncio.sleep(LATE_S)
    await web.TCPSite(runners[1], *_split(admin_listen)).start()
    await asyncio.Event().wait()


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--admin-listen", required=True)
    arguments = parser.parse_args()
    asyncio.run(_serve(arguments.listen, arguments.admin_listen))


if __name__ == "__main__":
    main()
