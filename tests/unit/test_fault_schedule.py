"""Impossible fault schedules are refused before anything starts, naming the fault."""

import pytest

from scenarios.fault_schedule import schedule_problem


def fault(name, at_s, kind, params, duration_s=None):
    entry = {"name": name, "at_s": at_s, kind: params}
    if duration_s is not None:
        entry["duration_s"] = duration_s
    return entry


def test_nothing_needs_the_replica_after_a_failover():
    faults = [
        fault("failover", 5, "failover", {}),
        fault("lag", 8, "replica_lag", {"mode": "pause_replay"}, 2),
    ]
    assert "needs the replica, which the failover at 5 s promoted" in schedule_problem(faults, 20)
    # A lag before the failover is fine: the replica still exists then.
    earlier = [fault("lag", 1, "replica_lag", {"mode": "pause_replay"}, 2), faults[0]]
    assert schedule_problem(earlier, 20) is None


def test_a_second_failover_is_refused():
    faults = [fault("one", 3, "failover", {}), fault("two", 9, "failover", {})]
    assert "faults[1]: failover at 9 s needs the replica" in schedule_problem(faults, 20)


def test_a_paused_replay_under_sync_replication_is_refused():
    faults = [fault("lag", 2, "replica_lag", {"mode": "pause_replay"}, 3)]
    assert schedule_problem(faults, 20, replication="async") is None
    assert "would hold every commit" in schedule_problem(faults, 20, replication="sync")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mode": "slow_link"}, "a slow link needs its latency"),
        ({"mode": "pause_replay", "latency_ms": 5}, "pausing replay takes no latency"),
    ],
)
def test_replica_lag_modes_are_checked(params, message):
    assert message in schedule_problem([fault("lag", 1, "replica_lag", params, 2)], 20)


def test_flapping_periods_are_checked():
    params = {
        "link": "api",
        "flapping": {"down": {"min_ms": 500, "max_ms": 100}, "up": {"min_ms": 10, "max_ms": 20}},
    }
    assert "flapping.down: min_ms 500 > max_ms 100" in schedule_problem(
        [fault("flap", 1, "partition", params, 2)], 20
    )


def test_pauses_of_one_service_must_not_overlap():
    faults = [
        fault("a", 1, "pause", {"service": "api"}, 5),
        fault("b", 3, "pause", {"service": "api"}, 1),
    ]
    assert "faults[1]: pause of api at 3 s overlaps faults[0]" in schedule_problem(faults, 20)
