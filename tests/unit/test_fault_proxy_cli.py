"""`paychaos proxy` and `python -m faults.proxy`: a drop-in for toxiproxy-server.

Each runs as a subprocess; every wait is bounded.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
import requests
import toxiproxy

from tests.unit.test_fault_proxy_toxics import (
    PROCESS_START_MAX_S,
    SOCKET_TIMEOUT_S,
    Echo,
    round_trip,
    running_proxy_process,
    running_upstream,
)

PAYCHAOS_PROXY = [sys.executable, "-m", "scenarios.cli", "proxy"]
MODULE_PROXY = [sys.executable, "-m", "faults.proxy"]


def _seed(url: str) -> int:
    return int(requests.get(url + "/paychaos/decisions", timeout=SOCKET_TIMEOUT_S).json()["seed"])


@pytest.mark.parametrize("command", [PAYCHAOS_PROXY, MODULE_PROXY], ids=["paychaos", "module"])
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_serves_toxiproxy_python_with_the_seed_until_a_signal(
    command: list[str], stop_signal: signal.Signals
) -> None:
    arguments = [*command, "--host", "127.0.0.1", "--port", "0", "--seed", "42"]
    with running_upstream(Echo) as echo, running_proxy_process(arguments) as server:
        assert _seed(server.url) == 42
        client = toxiproxy.Toxiproxy()
        client.update_api_consumer(*server.address.rsplit(":", 1))
        proxy = client.create(upstream=echo, name="api")
        proxy.add_toxic(type="latency", attributes={"latency": 10})
        host, port = proxy.listen.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT_S) as sock:
            assert round_trip(sock, b"ping") == b"ping"
            server.process.send_signal(stop_signal)
            assert server.process.wait(PROCESS_START_MAX_S) == 0
            assert sock.recv(1) == b""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT_S)


def test_paychaos_proxy_exits_3_with_one_line_when_the_port_is_taken() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*PAYCHAOS_PROXY, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=PROCESS_START_MAX_S,
        )
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        f"paychaos: error: cannot listen on 127.0.0.1:{port}: address already in use\n"
    )


def test_paychaos_proxy_refuses_a_port_out_of_range() -> None:
    result = subprocess.run(
        [*PAYCHAOS_PROXY, "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=PROCESS_START_MAX_S,
    )
    assert result.returncode == 3
    assert "port must be a number from 0 to 65535, got '99999'" in result.stderr
