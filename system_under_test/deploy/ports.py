"""Loopback ports: reserving free ones until their service binds them, refusing taken ones."""

import socket

from system_under_test.deploy.errors import DeployError

LOOPBACK = "127.0.0.1"


class PortCollision(DeployError):
    """A port of the plan was taken by another process before its service bound it."""

    def __init__(self, port: int, purpose: str, how: str) -> None:
        super().__init__(f"port {port} on {LOOPBACK} {how} (wanted for {purpose})")
        self.port = port


class PortReservation:
    """A loopback port held by a bound socket that does not listen, until released.

    While it is held, no other process's bind (the kernel's free-port choice included) and no
    outgoing connection can take the port: the socket sets no SO_REUSEADDR or SO_REUSEPORT, so
    the kernel refuses every other use of the address. Nothing connects to it (it does not
    listen). Port 0 reserves a port of the kernel's choice.

    `after_service` holds the port of a service that just stopped: its closed connections may
    linger in TIME_WAIT, which only SO_REUSEADDR passes. Such a reservation still keeps the
    port from every free-port choice and from any bind without SO_REUSEADDR, not from a
    listener that sets it.
    """

    def __init__(self, port: int = 0, *, purpose: str, after_service: bool = False) -> None:
        self._socket: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(after_service))
        try:
            self._socket.bind((LOOPBACK, port))
        except OSError:
            self._socket.close()
            raise PortCollision(port, purpose, "is taken") from None
        self.port: int = self._socket.getsockname()[1]

    @property
    def held(self) -> bool:
        """Whether the port is still reserved."""
        return self._socket is not None

    def release(self) -> None:
        """Free the port for its service to bind; safe to call twice."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def require_free(port: int, purpose: str) -> None:
    """Raise DeployError naming the port and its purpose when it is already taken."""
    PortReservation(port, purpose=purpose).release()


def is_bindable(port: int) -> bool:
    """Whether a service could bind 127.0.0.1:port now: nothing holds it but, at most,
    connections closing (TIME_WAIT), which SO_REUSEADDR passes as every service's bind does."""
    try:
        PortReservation(port, purpose="a bind probe", after_service=True).release()
    except PortCollision:
        return False
    return True
