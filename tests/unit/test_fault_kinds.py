"""Fault kinds judged on measurements (no I/O): each toxic's effect against a baseline."""

import pytest

from faults.kinds import KINDS
from faults.kinds.toxic import JUDGES, TOXIC_TYPES, probe_timeout_s
from faults.link_probe import CLOSED_EARLY, NO_ANSWER, RESET, ProbeResult

# An HTTP answer of 150 bytes in one read, closed at once.
BASELINE = ProbeResult(True, 2.0, 2.5, 150, 1, None)


def probe(answered=True, elapsed_ms=2.0, closed_ms=2.5, received=150, reads=1, error=None):
    return ProbeResult(answered, elapsed_ms, closed_ms, received, reads, error)


@pytest.mark.parametrize(
    ("toxic_type", "attributes", "stream", "during", "expected"),
    [
        ("latency", {"latency": 500}, "downstream", probe(elapsed_ms=503), True),
        # The typo's case: no delay was injected, so nothing is confirmed.
        ("latency", {"latency": 500}, "downstream", probe(elapsed_ms=3), False),
        ("latency", {"latency": 500}, "downstream", probe(elapsed_ms=5000), False),
        ("latency", {"latency": 500, "jitter": 100}, "upstream", probe(elapsed_ms=420), True),
        ("timeout", {"timeout": 0}, "downstream", probe(False, 1000, None, 0, 0, NO_ANSWER), True),
        ("timeout", {"timeout": 0}, "downstream", probe(), False),
        ("timeout", {"timeout": 800}, "upstream", probe(False, 810, 805, 0, 0, CLOSED_EARLY), True),
        # The far end's close passes through a timeout toxic, the data does not.
        ("timeout", {"timeout": 0}, "downstream", probe(False, 1, 1, 0, 0, CLOSED_EARLY), True),
        ("reset_peer", {"timeout": 0}, "downstream", probe(False, 1, None, 0, 0, RESET), True),
        ("reset_peer", {"timeout": 0}, "downstream", probe(False, 1, 1, 0, 0, "closed"), False),
        ("limit_data", {"bytes": 40}, "downstream", probe(received=40), True),
        ("limit_data", {"bytes": 40}, "downstream", probe(received=150), False),
        # An answer smaller than the limit cannot show the cut: the proxy's count decides.
        ("limit_data", {"bytes": 400}, "downstream", probe(), None),
        ("limit_data", {"bytes": 4}, "upstream", probe(False, 1000, None, 0, 0, NO_ANSWER), True),
        ("slicer", {"average_size": 10}, "downstream", probe(reads=12), True),
        ("slicer", {"average_size": 10}, "downstream", probe(reads=1), False),
        ("slicer", {"average_size": 1000}, "downstream", probe(), None),
        ("slow_close", {"delay": 300}, "downstream", probe(closed_ms=305), True),
        ("slow_close", {"delay": 300}, "downstream", probe(closed_ms=3), False),
        ("bandwidth", {"rate": 0}, "downstream", probe(False, 1000, None, 0, 0, NO_ANSWER), True),
        ("bandwidth", {"rate": 100}, "downstream", probe(), None),
    ],
)
def test_each_toxic_judges_its_own_effect(toxic_type, attributes, stream, during, expected):
    assert JUDGES[toxic_type](BASELINE, during, attributes, stream) is expected


def test_every_toxic_type_has_a_probe_window():
    for toxic_type in TOXIC_TYPES:
        attributes = {"latency": 1, "timeout": 1, "delay": 1, "rate": 1, "average_size": 1}
        assert probe_timeout_s(toxic_type, attributes) > 0


def test_kinds_name_their_targets_and_lifetimes():
    toxic, kill = KINDS["toxic"], KINDS["kill"]
    params = {"link": "network", "type": "latency", "attributes": {"latency": 5}}
    assert (toxic.target(params), toxic.lifetime_s(params, 4.0)) == ("network", 4.0)
    assert (kill.target({"service": "api"}), kill.lifetime_s({"service": "api"}, None)) == (
        "api",
        1.0,
    )
    assert kill.lifetime_s({"service": "api", "restart_after_s": 3}, None) == 3.0
