"""Several API processes (PAYCHAOS_API_PROCESSES) serve one port together and die together:
a SIGKILL of the process the deployment started takes its children with it, and a child that
dies stops the API, so that the deployment sees one API, up or down."""

import os
import signal
from pathlib import Path

import pytest
import requests

from system_under_test.config import API_PROCESSES_ENV
from system_under_test.deploy.local import LocalTopology
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut, until

pytestmark = pytest.mark.integration

PROCESS_COUNT = 3
# Death by PR_SET_PDEATHSIG, or the parent noticing a dead child, takes well under a second.
GONE_WAIT_S = 15.0


def _api_processes(listen: str) -> dict[int, str]:
    """pid -> command line of every live process serving the API on `listen`."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if "system_under_test.api" in command and f"--listen {listen}" in command and state != "Z":
            found[int(proc.name)] = command
    return found


def _parent_and_children(listen: str) -> tuple[int, list[int]]:
    processes = _api_processes(listen)
    parents = [pid for pid, command in processes.items() if "--child-of" not in command]
    assert len(parents) == 1, processes
    children = [pid for pid, command in processes.items() if "--child-of" in command]
    assert all(processes[pid].endswith(f"--child-of {parents[0]} ") for pid in children)
    return parents[0], children


def test_several_api_processes_serve_together_and_die_together(tmp_path):
    run_dir = tmp_path / "topology"
    topology = LocalTopology(
        run_dir, merchant_count=1, service_environment={API_PROCESSES_ENV: str(PROCESS_COUNT)}
    )
    try:
        endpoints = topology.start()
        sut = Sut(endpoints)
        listen = endpoints.services["api"]
        parent, children = _parent_and_children(listen)
        assert len(children) == PROCESS_COUNT - 1
        for number in range(6):
            sut.charge(500, key=f"several-{number}")

        # A failpoint would fire in whichever process a request reaches: refused, named.
        refused = requests.post(
            f"{endpoints.admin_urls['api']}/failpoints",
            json={"name": "charge.after_claim", "action": "crash"},
            timeout=10,
        )
        assert refused.status_code == 400
        assert f"{API_PROCESSES_ENV}=1" in refused.json()["error"]["message"]

        # SIGKILL of the parent alone: its children die with it.
        os.kill(parent, signal.SIGKILL)
        until(lambda: not _api_processes(listen), timeout_s=GONE_WAIT_S)

        topology.restart("api")
        parent, children = _parent_and_children(listen)
        sut.charge(700, key="after-restart")

        # A child that dies stops the whole API.
        os.kill(children[0], signal.SIGKILL)
        until(lambda: not topology.running("api"), timeout_s=GONE_WAIT_S)
        until(lambda: not _api_processes(listen), timeout_s=GONE_WAIT_S)
    finally:
        topology.teardown()
    assert_nothing_left(run_dir)
