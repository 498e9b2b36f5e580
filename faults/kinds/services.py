"""What the kinds that act on one service's process share (kill, pause, restart): the services
they may act on, their schema, how the random nemesis picks a service, and a restart as a heal."""

import asyncio
import random
from typing import Any

from faults.kinds.base import KindDefaults, Measured, Params, ProcessControl
from system_under_test.deploy.spec import SERVICES

# Every service but the proxy: it carries every link and the harness's own control of faults,
# so its death would be a partition of everything at once (the partition kind does that, with
# a heal the harness keeps).
KILLABLE_SERVICES = [service for service in SERVICES if service != "proxy"]
# What the random nemesis picks from: the databases have their own kinds' care in scenarios.
DRAWN_SERVICES = [service for service in KILLABLE_SERVICES if not service.startswith("pg-")]
SIGKILL_STATUS = -9


def service_schema(**properties: Any) -> dict[str, Any]:
    """The schema of a step that names one service, with the kind's own `properties`."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["service"],
        "properties": {"service": {"enum": KILLABLE_SERVICES}, **properties},
    }


async def restart_service(processes: ProcessControl, service: str) -> Measured:
    """Restart a service as a heal: confirmed when it runs again."""
    try:
        await asyncio.to_thread(processes.restart, service)
    except Exception as error:  # any failure to restart is the heal's result
        return Measured(False, {"restart_error": str(error)})
    running = processes.running(service)
    return Measured(running, {"restarted": running})


class ServiceKind(KindDefaults):
    """A kind that acts on one service's process, which the random nemesis may draw."""

    schema = service_schema()
    random_nemesis = True

    def target(self, params: Params) -> str:
        return params["service"]

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {"service": rng.choice(DRAWN_SERVICES)}
