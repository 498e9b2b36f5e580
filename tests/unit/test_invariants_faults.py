"""Fault windows: which faults an op met while it ran."""

from invariants.model.faults import FaultTimeline, parse_faults


def test_active_during_covers_every_fault_an_op_met():
    events = [
        {
            "index": 0,
            "time": 10,
            "type": "start",
            "name": "a",
            "fault": "toxic",
            "target": "network",
            "params": {},
            "confirmed": None,
            "evidence": None,
        },
        {
            "index": 1,
            "time": 20,
            "type": "stop",
            "name": "a",
            "fault": "toxic",
            "target": "network",
            "params": {},
            "confirmed": True,
            "evidence": {},
        },
        {
            "index": 2,
            "time": 30,
            "type": "start",
            "name": "b",
            "fault": "kill",
            "target": "api",
            "params": {},
            "confirmed": None,
            "evidence": None,
        },
        {
            "index": 3,
            "time": 40,
            "type": "stop",
            "name": "b",
            "fault": "kill",
            "target": "api",
            "params": {},
            "confirmed": True,
            "evidence": {},
        },
    ]
    timeline = FaultTimeline(parse_faults(events))
    assert timeline.active_during(5, 8) == ()
    assert timeline.active_during(5, 15) == ("a",)
    assert timeline.active_during(15, 35) == ("a", "b")
    assert timeline.active_during(21, 29) == ()
    assert timeline.active_during(35, None) == ("b",)
    assert timeline.active_during(41, None) == ()
