"""The `failpoint` fault kind without a topology: its scenario entry (schema and check), and
its life against a real admin app over a fake process table."""

import asyncio
import textwrap
from dataclasses import dataclass, field

import jsonschema
import pytest
from aiohttp import test_utils

from faults.kinds import KINDS, FaultContext, Injection
from faults.kinds.failpoint import SCHEMA
from scenarios.scenario import ScenarioError, load_scenario
from system_under_test.admin import make_admin_app
from system_under_test.failpoints import Failpoints

KIND = KINDS["failpoint"]
KNOWN = frozenset({"no_double_charge", "no_lost_write", "liveness"})
CRASH = {"service": "api", "point": "charge.after_processing_commit", "action": "crash", "nth": 5}


def _schema_errors(params: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [error.message for error in validator.iter_errors(params)]


@pytest.mark.parametrize(
    "params",
    [
        CRASH,
        {"service": "worker", "point": "recovery.after_look_up", "action": "crash"},
        {"service": "api", "point": "refund.after_send", "action": "delay", "delay_ms": 800},
        {"service": "api", "point": "payout.after_claim", "action": "hang", "nth": 2},
        {"service": "worker", "point": "recovery.after_resolve_commit", "action": "error"},
    ],
)
def test_good_entries_pass_the_schema_and_the_check(params):
    assert _schema_errors(params) == []
    assert KIND.check(params) is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**CRASH, "when": 3}, "'when' was unexpected"),
        ({**CRASH, "service": "network"}, "'network' is not one of"),
        ({**CRASH, "point": "charge.after_lunch"}, "'charge.after_lunch' is not one of"),
        ({**CRASH, "action": "explode"}, "'explode' is not one of"),
        ({**CRASH, "nth": 0}, "0 is less than the minimum of 1"),
        ({**CRASH, "nth": 2.5}, "2.5 is not of type 'integer'"),
        ({**CRASH, "nth": "5"}, "'5' is not of type 'integer'"),
        ({**CRASH, "action": "delay", "delay_ms": 0}, "0 is less than the minimum of 1"),
        ({**CRASH, "action": "delay", "delay_ms": 10**9}, "is greater than the maximum"),
        ({"service": "api", "action": "crash"}, "'point' is a required property"),
    ],
)
def test_the_schema_refuses_unknown_keys_types_and_ranges(params, message):
    errors = _schema_errors(params)
    assert any(message in error for error in errors), errors


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"service": "api", "point": "recovery.after_look_up", "action": "crash"},
            "point: the api has no 'recovery.after_look_up' (the worker has)",
        ),
        (
            {"service": "worker", "point": "charge.after_send", "action": "error"},
            "point: the worker has no 'charge.after_send' (the api has)",
        ),
        (
            {"service": "api", "point": "charge.after_send", "action": "delay"},
            "delay_ms: a delay needs delay_ms",
        ),
        ({**CRASH, "delay_ms": 100}, "delay_ms: only a delay takes delay_ms, not a crash"),
    ],
)
def test_the_check_refuses_what_the_schema_cannot_see(params, message):
    assert KIND.check(params).startswith(message)


SCENARIO = """\
    name: failpoints
    seed: 3
    workload: {clients: 2, rate_per_s: 4, duration_s: 20}
    faults:
      - {name: first, at_s: 1, duration_s: 3, failpoint: FIRST}
      - {name: second, at_s: 5, duration_s: 3, failpoint: SECOND}
    invariants: [no_double_charge, liveness]
"""


def _load(
    tmp_path, first: str, second: str = "{service: api, point: charge.after_send, action: crash}"
):
    path = tmp_path / "scenario.yaml"
    text = textwrap.dedent(SCENARIO).replace("FIRST", first).replace("SECOND", second)
    path.write_text(text)
    return load_scenario(str(path), known_invariants=KNOWN)


def test_a_scenario_says_crash_at_a_point_on_its_nth_hit(tmp_path):
    scenario = _load(
        tmp_path, "{service: api, point: charge.after_processing_commit, action: crash, nth: 5}"
    )
    step = scenario.faults[0]
    assert (step.kind, step.duration_s) == ("failpoint", 3.0)
    assert step.params == CRASH
    assert KIND.target(step.params) == "api"
    assert KIND.lifetime_s(step.params, step.duration_s) == 3.0


@pytest.mark.parametrize(
    ("first", "message"),
    [
        (
            "{service: api, point: charge.after_send, action: crash, nth: 0}",
            r"faults\[0\]\.failpoint\.nth: 0 is less than the minimum",
        ),
        (
            "{service: api, point: charge.after_send, action: crash, when: 1}",
            r"faults\[0\]\.failpoint: .*'when' was unexpected",
        ),
        (
            "{service: worker, point: refund.after_claim, action: crash}",
            r"faults\[0\]\.failpoint\.point: the worker has no 'refund.after_claim'",
        ),
        (
            "{service: api, point: charge.after_send, action: delay}",
            r"faults\[0\]\.failpoint\.delay_ms: a delay needs delay_ms",
        ),
    ],
)
def test_a_scenario_with_a_bad_failpoint_is_refused_naming_it(tmp_path, first, message):
    with pytest.raises(ScenarioError, match=message):
        _load(tmp_path, first)


def test_a_failpoint_needs_a_duration(tmp_path):
    path = tmp_path / "scenario.yaml"
    text = textwrap.dedent(SCENARIO).replace(
        ", duration_s: 3, failpoint: FIRST", ", failpoint: FIRST"
    )
    path.write_text(
        text.replace("FIRST", "{service: api, point: charge.after_send, action: crash}").replace(
            "SECOND", "{service: api, point: charge.after_claim, action: crash}"
        )
    )
    with pytest.raises(ScenarioError, match=r"faults\[0\]: a failpoint needs duration_s"):
        load_scenario(str(path), known_invariants=KNOWN)


def test_two_failpoints_of_one_service_at_once_are_refused(tmp_path):
    with pytest.raises(ScenarioError, match=r"faults\[1\]: failpoint of api at 2"):
        path = tmp_path / "scenario.yaml"
        text = textwrap.dedent(SCENARIO).replace("at_s: 5", "at_s: 2")
        path.write_text(
            text.replace(
                "FIRST", "{service: api, point: charge.after_send, action: crash}"
            ).replace("SECOND", "{service: api, point: charge.after_claim, action: crash}")
        )
        load_scenario(str(path), known_invariants=KNOWN)


@dataclass
class FakeProcesses:
    """A process table: `running` until killed; `restart` brings the service back."""

    alive: dict[str, bool] = field(default_factory=lambda: {"api": True, "worker": True})
    restarts: list[str] = field(default_factory=list)
    exit_status: int = -9

    def kill(self, service: str) -> int | None:
        self.alive[service] = False
        return self.exit_status

    def restart(self, service: str) -> None:
        self.restarts.append(service)
        self.alive[service] = True

    def running(self, service: str) -> bool:
        return self.alive[service]


async def _life(params: dict, act, processes: FakeProcesses | None = None, *, within_s=2.0):
    """Prepare, start, `act(failpoints, processes)` while confirm watches, then stop."""
    failpoints = Failpoints()
    processes = processes or FakeProcesses()
    async with test_utils.TestServer(make_admin_app(failpoints)) as server:
        url = str(server.make_url("")).rstrip("/")
        context = FaultContext(
            toxiproxy=None,
            links={},
            admin_urls={"api": url, "worker": url},
            processes=processes,
            unresolved_count=None,
            now_s=asyncio.get_running_loop().time,
        )
        prepared = await KIND.prepare(context, params)
        active = await KIND.start(context, Injection("step", params, prepared, within_s))
        armed = failpoints.status()["armed"]
        acting = asyncio.create_task(act(failpoints, processes))
        measured = await active.confirm()
        await asyncio.wait_for(acting, 5)
        healed = await active.stop()
        return armed, measured, healed, failpoints


def test_a_delay_is_armed_for_its_nth_hit_and_confirmed_by_the_count():
    params = {
        "service": "api",
        "point": "refund.after_send",
        "action": "delay",
        "nth": 3,
        "delay_ms": 10,
    }

    async def hits(failpoints, processes):
        for _ in range(3):
            await failpoints.hit("refund.after_send")

    armed, measured, healed, _ = asyncio.run(_life(params, hits))
    assert armed == {"refund.after_send": {"action": "delay", "nth": 3, "delay_ms": 10}}
    assert measured.confirmed, measured
    assert (measured.evidence["fired_before"], measured.evidence["fired_after"]) == (0, 1)
    assert (measured.evidence["point"], measured.evidence["nth"]) == ("refund.after_send", 3)
    assert healed.confirmed and healed.evidence["disarmed"]


def test_a_failpoint_that_never_fires_is_not_confirmed_and_is_disarmed():
    params = {"service": "api", "point": "charge.after_send", "action": "error", "nth": 2}

    async def one_hit(failpoints, processes):
        await failpoints.hit("charge.after_send")

    _, measured, healed, failpoints = asyncio.run(_life(params, one_hit, within_s=0.5))
    assert not measured.confirmed
    assert measured.evidence["fired_after"] == 0
    assert healed.confirmed
    assert failpoints.status()["armed"] == {}


def test_a_hang_is_confirmed_while_it_holds_and_released_by_the_stop():
    params = {"service": "worker", "point": "recovery.after_look_up", "action": "hang"}
    held: list[asyncio.Task] = []

    async def hang(failpoints, processes):
        held.append(asyncio.create_task(failpoints.hit("recovery.after_look_up")))

    async def life():
        result = await _life(params, hang)
        await asyncio.wait_for(held[0], 5)
        return result

    _, measured, healed, _ = asyncio.run(life())
    assert measured.confirmed and measured.evidence["hanging"] == 1
    assert healed.confirmed


def test_a_crash_is_confirmed_by_sigkill_and_healed_by_a_restart():
    processes = FakeProcesses()

    async def crash(failpoints, processes):
        await asyncio.sleep(0.2)
        processes.alive["api"] = False

    _, measured, healed, _ = asyncio.run(_life(CRASH, crash, processes))
    assert measured.confirmed, measured
    assert (measured.evidence["process_gone"], measured.evidence["exit_status"]) == (True, -9)
    assert healed.confirmed and processes.restarts == ["api"]


def test_a_crash_ended_otherwise_than_by_sigkill_is_not_confirmed():
    processes = FakeProcesses(exit_status=1)

    async def exits(failpoints, processes):
        processes.alive["api"] = False

    _, measured, healed, _ = asyncio.run(_life(CRASH, exits, processes))
    assert not measured.confirmed
    assert measured.evidence["exit_status"] == 1
    assert healed.confirmed and processes.restarts == ["api"]


def test_a_crash_that_never_fires_is_not_confirmed_and_nothing_restarts():
    processes = FakeProcesses()

    async def nothing(failpoints, processes):
        return None

    _, measured, healed, _ = asyncio.run(_life(CRASH, nothing, processes, within_s=0.3))
    assert not measured.confirmed and measured.evidence["process_gone"] is False
    assert healed.confirmed and processes.restarts == []


def test_an_arming_the_service_refuses_is_not_confirmed_and_says_why():
    # Past the schema's range (a scenario could not say it): the service refuses, and
    # confirm does not wait.
    params = {"service": "api", "point": "charge.after_send", "action": "crash", "nth": 10**6 + 1}

    async def nothing(failpoints, processes):
        return None

    _, measured, _, _ = asyncio.run(_life(params, nothing))
    assert not measured.confirmed
    assert "400 nth: must be" in measured.evidence["arm_error"]
