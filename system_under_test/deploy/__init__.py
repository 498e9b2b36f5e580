"""Deployment backends: start a topology by command, give its endpoints, inject process faults,
tear it down. `local` runs every service as a process on loopback; importing this package
registers every backend, so that :func:`new_topology` knows them."""

from system_under_test.deploy.errors import DeployError
from system_under_test.deploy.local import LocalTopology
from system_under_test.deploy.spec import LINKS, SERVICES, Link
from system_under_test.deploy.topology import (
    DEFAULT_BACKEND,
    Endpoints,
    Merchant,
    Topology,
    backend_names,
    new_topology,
    register_backend,
)

__all__ = [
    "DEFAULT_BACKEND",
    "LINKS",
    "SERVICES",
    "DeployError",
    "Endpoints",
    "Link",
    "LocalTopology",
    "Merchant",
    "Topology",
    "backend_names",
    "new_topology",
    "register_backend",
]
