"""A service is ready only when every port it owns listens and is its own: a late listener
is waited for, another process's listener on one of its ports is a collision naming the port,
never a service to talk to."""

import socket
import sys
import time

import pytest

from system_under_test.deploy.address_plan import AddressPlan
from system_under_test.deploy.ports import LOOPBACK, PortCollision, PortReservation, free_port
from system_under_test.deploy.processes import ServiceProcess
from system_under_test.deploy.readiness import wait_ready

# The child's second listener comes this late: longer than a readiness poll takes.
LATE_S = 1.0
READY_TIMEOUT_S = 20.0

_LISTENER = """
import socket, sys, time
def listen(port, reuse_port):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, int(reuse_port))
    server.bind(("127.0.0.1", port))
    server.listen()
    return server
held = [listen(int(sys.argv[1]), sys.argv[4] == "shared")]
time.sleep(float(sys.argv[3]))
held.append(listen(int(sys.argv[2]), sys.argv[4] == "shared"))
time.sleep(60)
"""


def _service(tmp_path, main: int, admin: int, *, late_s: float, mode: str = "own"):
    process = ServiceProcess(
        name="stub",
        command=[sys.executable, "-c", _LISTENER, str(main), str(admin), str(late_s), mode],
        log_path=tmp_path / "stub.log",
    )
    process.start()
    return process


def _intruder(port: int, *, reuse_port: bool = False) -> socket.socket:
    intruder = socket.socket()
    intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, int(reuse_port))
    intruder.bind((LOOPBACK, port))
    intruder.listen()
    return intruder


def _can_connect(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1):
            return True
    except OSError:
        return False


def test_readiness_waits_for_a_late_admin_listener(tmp_path):
    main, admin = free_port(), free_port()
    process = _service(tmp_path, main, admin, late_s=LATE_S)
    try:
        started = time.monotonic()
        wait_ready(process, {"main": main, "admin": admin}, lambda: True, timeout_s=READY_TIMEOUT_S)
        assert time.monotonic() - started >= LATE_S / 2
        assert _can_connect(admin)
    finally:
        process.stop()


def test_readiness_refuses_another_process_on_the_admin_port(tmp_path):
    main, admin = free_port(), free_port()
    intruder = _intruder(admin)
    intruder.settimeout(0)
    process = _service(tmp_path, main, admin, late_s=0)
    try:
        with pytest.raises(PortCollision, match=rf"port {admin} on 127\.0\.0\.1 is held"):
            wait_ready(process, {"main": main, "admin": admin}, lambda: True, timeout_s=5)
        with pytest.raises(BlockingIOError):
            intruder.accept()  # nobody connected to it
    finally:
        process.stop()
        intruder.close()


def test_readiness_refuses_a_port_shared_with_another_process(tmp_path):
    """Two listeners with SO_REUSEPORT share a port and the kernel spreads connections over
    both: answering is no proof, the listeners' owners are."""
    main, admin = free_port(), free_port()
    intruder = _intruder(admin, reuse_port=True)
    process = _service(tmp_path, main, admin, late_s=0, mode="shared")
    try:
        with pytest.raises(PortCollision, match=rf"port {admin} .*held by another process"):
            wait_ready(process, {"main": main, "admin": admin}, lambda: True, timeout_s=5)
    finally:
        process.stop()
        intruder.close()


def test_a_reserved_port_cannot_be_taken_until_released():
    reservation = PortReservation(purpose="a test")
    with pytest.raises(OSError):
        _intruder(reservation.port, reuse_port=True).close()
    with pytest.raises(PortCollision, match=rf"port {reservation.port} .*\(wanted for again\)"):
        PortReservation(reservation.port, purpose="again")
    reservation.release()
    _intruder(reservation.port).close()


def test_a_plan_holds_a_killed_services_ports_again_unless_another_took_them():
    plan = AddressPlan.allocate(0)
    intruder = None
    try:
        plan.release("api", "network")
        intruder = _intruder(plan.ports["network"])
        assert plan.hold("api", "network") == ["network"]
        with pytest.raises(OSError):
            _intruder(plan.ports["api"]).close()
    finally:
        plan.release_all()
        if intruder is not None:
            intruder.close()
