"""Loopback ports: finding free ones and refusing taken ones."""

import socket

from system_under_test.deploy.errors import DeployError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def require_free(port: int, purpose: str) -> None:
    """Raise DeployError naming the port and its purpose when it is already taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise DeployError(
                f"port {port} on {LOOPBACK} is taken (wanted for {purpose})"
            ) from None


def is_listening(port: int, *, timeout_s: float = 0.2) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout_s):
            return True
    except OSError:
        return False
