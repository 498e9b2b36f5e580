"""The topology as data: its services and THE link table (DESIGN.md "Topology and links").

Every link goes through the fault proxy as one named proxy. This table is the one owner of
link names; deployment, fault kinds, probes and scenario validation import it.
"""

from dataclasses import dataclass

SERVICES = ("proxy", "pg-primary", "pg-replica", "network", "api", "worker")


@dataclass(frozen=True)
class Link:
    """One link: who uses it, the service it leads to, and what it carries."""

    source: str
    target: str
    # "http" or "postgres": how a probe asks the far end for a first byte.
    protocol: str


LINKS: dict[str, Link] = {
    "api": Link("workload", "api", "http"),
    "pg_primary": Link("api, worker", "pg-primary", "postgres"),
    "pg_replica": Link("api", "pg-replica", "postgres"),
    "replication": Link("pg-replica", "pg-primary", "postgres"),
    "network": Link("api, worker", "network", "http"),
}
assert all(link.target in SERVICES for link in LINKS.values()), "a link leads to a service"


def link_listener(link: str) -> str:
    """The name of the proxy's listener of `link` (where the link's users connect).

    >>> link_listener("pg_primary")
    'pg_primary-link'
    """
    return f"{link}-link"


PROXY_API_LISTENER = "proxy-api"

# Every loopback listener each service owns, by name: a service is ready only when every one
# of its listeners is up and held by the service itself. The proxy owns its API and the listen
# port of every link (bound when the links are created); the worker serves its admin endpoint
# only. The address plan gives each listener a port; readiness reads this table.
LISTENERS: dict[str, tuple[str, ...]] = {
    "proxy": (PROXY_API_LISTENER, *(link_listener(link) for link in LINKS)),
    "pg-primary": ("pg-primary",),
    "pg-replica": ("pg-replica",),
    "network": ("network",),
    "api": ("api", "api-admin"),
    "worker": ("worker-admin",),
}
assert set(LISTENERS) == set(SERVICES), "every service declares its listeners"
# A link's upstream is the listener named after the service it leads to.
assert all(link.target in LISTENERS[link.target] for link in LINKS.values())
