"""The local backend's address plan: a loopback port for every listener of the spec, chosen
before any service starts and held until its service binds it, and the proxy links between
them."""

from dataclasses import dataclass, field

from system_under_test.deploy import postgres
from system_under_test.deploy.ports import LOOPBACK, PortCollision, PortReservation
from system_under_test.deploy.spec import LINKS, LISTENERS, PROXY_API_LISTENER, link_listener


@dataclass(frozen=True)
class AddressPlan:
    """Every loopback port of a topology, chosen before anything starts.

    Each port stays reserved (bound by the plan, see PortReservation) until `release` hands
    it to its service, so that nothing else can take it while the topology starts: the
    databases are built and migrated before the API starts, tens of seconds in which a
    port chosen and let go at once would be free for anyone.

    What is left is the instant between the release and the service's bind. Handing the
    bound socket itself to the child would close it for the aiohttp services and the proxy's
    API, but not for PostgreSQL (it binds its own sockets) nor for the proxy's links (made
    over the Toxiproxy API, which takes addresses, not sockets); so one way serves every
    service: readiness checks each port's owner (readiness.py), and a port taken in that
    instant starts the topology again on a fresh plan.
    """

    proxy_api: str
    # Listener name (spec.LISTENERS) -> its port.
    ports: dict[str, int]
    # Proxy name -> {"listen": host:port, "upstream": host:port}.
    links: dict[str, dict[str, str]]
    _reservations: dict[str, PortReservation] = field(repr=False, compare=False)

    @classmethod
    def allocate(cls, proxy_api_port: int) -> "AddressPlan":
        """Reserve a free port for every listener; the proxy API on ``proxy_api_port`` if set.

        Raises PortCollision (a DeployError) if ``proxy_api_port`` is taken.
        """
        reservations: dict[str, PortReservation] = {}
        try:
            for listeners in LISTENERS.values():
                for listener in listeners:
                    fixed = proxy_api_port if listener == PROXY_API_LISTENER else 0
                    reservations[listener] = PortReservation(fixed, purpose=_purpose(listener))
        except BaseException:
            for reservation in reservations.values():
                reservation.release()
            raise
        ports = {listener: reservation.port for listener, reservation in reservations.items()}
        links = {
            link: {
                "listen": f"{LOOPBACK}:{ports[link_listener(link)]}",
                "upstream": f"{LOOPBACK}:{ports[LINKS[link].target]}",
            }
            for link in LINKS
        }
        return cls(f"{LOOPBACK}:{ports[PROXY_API_LISTENER]}", ports, links, reservations)

    def release(self, *listeners: str) -> None:
        """Hand the ports of ``listeners`` to the service about to bind them."""
        for listener in listeners:
            self._reservations[listener].release()

    def hold(self, *listeners: str) -> list[str]:
        """Reserve the ports of ``listeners`` again, after their service stopped; returns the
        listeners whose port something else took meanwhile."""
        lost = []
        for listener in listeners:
            if self._reservations[listener].held:
                continue
            try:
                self._reservations[listener] = PortReservation(
                    self.ports[listener], purpose=_purpose(listener), after_service=True
                )
            except PortCollision:
                lost.append(listener)
        return lost

    def release_all(self) -> None:
        """Free every port still reserved (the topology is going away)."""
        self.release(*self._reservations)

    def address(self, name: str) -> str:
        """The loopback address of a listener."""
        return f"{LOOPBACK}:{self.ports[name]}"

    def link_dsn(self, link: str) -> str:
        """The SUT's connection string to a database through its link in the proxy."""
        return postgres.dsn(self.ports[link_listener(link)], driver="postgresql+asyncpg")


def _purpose(listener: str) -> str:
    # The fixed proxy API port is the one a user names; its error keeps the words they know.
    return "the fault proxy API" if listener == PROXY_API_LISTENER else f"the {listener} listener"
