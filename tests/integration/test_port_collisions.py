"""A topology is ready only when every listener of every service is up and its own, and two
topologies started side by side never take each other's ports."""

import socket
import threading
import time

import pytest
import requests

from system_under_test.deploy import address_plan
from system_under_test.deploy.local import LocalTopology
from system_under_test.deploy.ports import LOOPBACK
from tests.integration.conftest import assert_nothing_left, paychaos

pytestmark = pytest.mark.integration


def test_start_waits_for_the_api_admin_listener_not_only_its_health(tmp_path, monkeypatch):
    real_service = LocalTopology._python_service

    def late_admin(self, name, module, *arguments, environment=None):
        if name == "api":
            module = "tests.integration.late_admin_api"
        return real_service(self, name, module, *arguments, environment=environment)

    monkeypatch.setattr(LocalTopology, "_python_service", late_admin)
    with LocalTopology(tmp_path) as topology:
        admin_url = topology.endpoints().admin_urls["api"]
        # Right after start: the admin endpoint answers, as a harness arming a failpoint needs.
        assert requests.get(f"{admin_url}/failpoints", timeout=5).status_code == 200
    assert_nothing_left(tmp_path)


class Intruder:
    """Another process's listener on a port: counts the connections it is offered."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((LOOPBACK, port))
        self._socket.listen()
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


def test_a_planned_port_taken_before_start_gives_a_fresh_plan_never_the_intruder(
    tmp_path, monkeypatch, caplog
):
    real_allocate = address_plan.AddressPlan.allocate.__func__
    intruders: list[Intruder] = []

    def allocate_then_lose_a_port(cls, proxy_api_port):
        plan = real_allocate(cls, proxy_api_port)
        if not intruders:
            # Between planning and start, another process takes the API's admin port.
            plan.release("api-admin")
            intruders.append(Intruder(plan.ports["api-admin"]))
        return plan

    monkeypatch.setattr(
        address_plan.AddressPlan, "allocate", classmethod(allocate_then_lose_a_port)
    )
    try:
        with LocalTopology(tmp_path) as topology:
            endpoints = topology.endpoints()
            assert f"{LOOPBACK}:{intruders[0].port}" not in endpoints.admin_urls["api"]
            assert requests.get(f"{endpoints.admin_urls['api']}/failpoints", timeout=5).ok
        assert intruders[0].connections == 0
        taken = f"port {intruders[0].port} on {LOOPBACK}"
        assert f"{taken} is held by another process" in caplog.text
        assert "starting again on a fresh address plan" in caplog.text
    finally:
        for intruder in intruders:
            intruder.close()
    assert_nothing_left(tmp_path)


# How long the topology beside the run may take to start: ~20 s alone, more beside a run.
BESIDE_START_S = 120


def test_a_run_and_a_topology_started_beside_it_both_end_as_they_should(tmp_path, short_scenarios):
    runs_dir = tmp_path / "runs"
    baseline = short_scenarios("baseline")
    result: dict = {}
    run = threading.Thread(
        target=lambda: result.update(run=paychaos("run", str(baseline), runs_dir=runs_dir))
    )
    run.start()
    started = time.monotonic()
    try:
        with LocalTopology(tmp_path / "beside") as beside:
            assert time.monotonic() - started < BESIDE_START_S
            endpoints = beside.endpoints()
            assert requests.get(f"{endpoints.admin_urls['api']}/failpoints", timeout=5).ok
            assert requests.get(f"{endpoints.admin_urls['worker']}/failpoints", timeout=5).ok
            assert requests.get(f"http://{endpoints.proxy_api}/proxies", timeout=5).ok
    finally:
        run.join()
    completed = result["run"]
    assert completed.exit_code == 0, completed.stderr
    assert completed.report()["verdict"] == "valid"
    assert_nothing_left(tmp_path / "beside")
    assert_nothing_left(completed.run_dir)
