"""Deployment backends: start a topology by command, give its endpoints, inject process faults,
tear it down. `local` runs every service as a process on loopback."""

from system_under_test.deploy.errors import DeployError
from system_under_test.deploy.local import LocalTopology
from system_under_test.deploy.spec import LINKS, SERVICES, Link
from system_under_test.deploy.topology import Endpoints, Merchant, Topology

__all__ = [
    "LINKS",
    "SERVICES",
    "DeployError",
    "Endpoints",
    "Link",
    "LocalTopology",
    "Merchant",
    "Topology",
]
