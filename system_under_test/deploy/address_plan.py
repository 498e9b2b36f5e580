"""The local backend's address plan: every loopback port of a topology, chosen before any
service starts, and the proxy links between them."""

from dataclasses import dataclass

from system_under_test.deploy import postgres
from system_under_test.deploy.ports import LOOPBACK, free_port
from system_under_test.deploy.spec import LINKS

_SERVICE_PORTS = ("pg-primary", "pg-replica", "network", "api", "api-admin", "worker-admin")


@dataclass(frozen=True)
class AddressPlan:
    """Every loopback port of a topology, chosen before anything starts."""

    proxy_api: str
    ports: dict[str, int]
    # Proxy name -> {"listen": host:port, "upstream": host:port}.
    links: dict[str, dict[str, str]]

    @classmethod
    def allocate(cls, proxy_api_port: int) -> "AddressPlan":
        """Free ports for every service and link; the proxy API on ``proxy_api_port`` if set."""
        ports = {name: free_port() for name in _SERVICE_PORTS}
        links = {
            link: {
                "listen": f"{LOOPBACK}:{free_port()}",
                "upstream": f"{LOOPBACK}:{ports[LINKS[link].target]}",
            }
            for link in LINKS
        }
        return cls(f"{LOOPBACK}:{proxy_api_port or free_port()}", ports, links)

    def address(self, name: str) -> str:
        """The loopback address of a service's own port."""
        return f"{LOOPBACK}:{self.ports[name]}"

    def link_dsn(self, link: str) -> str:
        """The SUT's connection string to a database through its link in the proxy."""
        port = int(self.links[link]["listen"].rpartition(":")[2])
        return postgres.dsn(port, driver="postgresql+asyncpg")
