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
