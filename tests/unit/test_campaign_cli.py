"""`paychaos campaign` with the runner faked (a real run takes about 40 s): the loop over
scenarios x seeds, the aggregate, harness errors and Ctrl-C; its input errors; the progress
display; and --quiet on `analyze`."""

import io
import json

import pytest

import reports
from reports.campaign_report import CAMPAIGN_FILE, CAMPAIGN_SUMMARY_FILE
from scenarios import cli, mutants, sweep
from scenarios.campaign import CampaignOutcome, new_run_dir, point_latest
from scenarios.progress import BarProgress, LineProgress, QuietProgress, run_progress
from scenarios.scenario import ScenarioError
from system_under_test.deploy.errors import DeployError
from tests.unit.report_builders import report
from tests.unit.test_partial_runs import write_run

CAUGHT = {"no_double_charge": ("invalid", {"double_charge": 1})}


class FakeRunner:
    """Stands in for run_campaign: makes the run directory as it does, then answers a
    report, raises, or is interrupted, by (scenario, seed[, defects])."""

    def __init__(self, outcomes=None):
        self.outcomes = outcomes or {}
        self.calls = []

    def __call__(self, scenario, *, runs_root, defects=(), proxy_api_port=0):
        self.calls.append((scenario.name, scenario.seed, tuple(defects)))
        run_dir = new_run_dir(runs_root, scenario.name, scenario.seed)
        point_latest(runs_root, run_dir)
        subject = (scenario.name, scenario.seed)
        outcome = self.outcomes.get((*subject, tuple(defects)), self.outcomes.get(subject, {}))
        if isinstance(outcome, BaseException):
            raise outcome
        document = report(scenario=scenario.name, seed=scenario.seed, **outcome)
        verdict = document["verdict"]
        return CampaignOutcome(run_dir, verdict, reports.exit_code(verdict), document)


@pytest.fixture
def runner(monkeypatch):
    fake = FakeRunner()
    monkeypatch.setattr(cli, "run_campaign", fake)
    monkeypatch.delenv("PAYCHAOS_SUT_DEFECTS", raising=False)
    return fake


def campaign(tmp_path, *arguments):
    return cli.main(["campaign", "--runs-dir", str(tmp_path), *arguments])


def aggregate(tmp_path):
    campaign_dir = (tmp_path / "campaigns" / "latest").resolve()
    return campaign_dir, json.loads((campaign_dir / CAMPAIGN_FILE).read_text())


def test_each_scenario_runs_with_each_seed_in_order_into_one_aggregate(tmp_path, runner, capsys):
    code = campaign(tmp_path, "--scenarios", "baseline,retry-storm", "--seeds", "7,8")
    assert code == reports.EXIT_VALID
    assert [call[:2] for call in runner.calls] == [
        ("baseline", 7),
        ("baseline", 8),
        ("retry-storm", 7),
        ("retry-storm", 8),
    ]
    campaign_dir, document = aggregate(tmp_path)
    assert document["verdict"] == "valid"
    assert [(run["scenario"], run["seed"]) for run in document["runs"]] == [
        call[:2] for call in runner.calls
    ]
    for run in document["runs"]:
        assert run["run_dir"].startswith(str(campaign_dir / sweep.RUNS_DIRECTORY))
        assert run["invariants"] == {"no_double_charge": "valid", "liveness": "valid"}
    assert (campaign_dir / CAMPAIGN_SUMMARY_FILE).read_text().startswith("# Campaign verdict")
    out = capsys.readouterr().out
    # Not a terminal: one line per finished run, then the table and the verdict.
    assert out.count("seed 8") >= 2
    assert "verdict: valid" in out
    assert f"campaign: {campaign_dir / CAMPAIGN_FILE}" in out


def test_seed_count_takes_the_scenarios_own_seed_and_the_next(tmp_path, runner):
    assert campaign(tmp_path, "--scenarios", "baseline", "--seed-count", "2") == 0
    assert [call[:2] for call in runner.calls] == [("baseline", 7), ("baseline", 8)]


def test_a_harness_error_is_one_unknown_run_and_the_campaign_goes_on(tmp_path, runner):
    runner.outcomes[("baseline", 7)] = DeployError("port 5432 is taken\nmore detail")
    assert campaign(tmp_path, "--scenarios", "baseline", "--seeds", "7,8") == reports.EXIT_UNKNOWN
    assert len(runner.calls) == 2
    _, document = aggregate(tmp_path)
    failed, passed = document["runs"]
    assert failed["verdict"] == "unknown"
    assert failed["error"] == "DeployError: port 5432 is taken"
    # The directory the failed run had made, for its logs.
    assert failed["run_dir"] and "baseline-s7" in failed["run_dir"]
    assert passed["verdict"] == "valid"


def test_an_invalid_run_makes_the_campaign_invalid_over_an_unknown_one(tmp_path, runner):
    runner.outcomes[("baseline", 7)] = DeployError("down")
    runner.outcomes[("baseline", 8)] = {"invariants": CAUGHT}
    assert campaign(tmp_path, "--scenarios", "baseline", "--seeds", "7,8,9") == 1
    assert aggregate(tmp_path)[1]["verdict"] == "invalid"


def test_ctrl_c_stops_the_campaign_and_still_writes_the_finished_runs(tmp_path, runner, capsys):
    runner.outcomes[("baseline", 8)] = KeyboardInterrupt()
    code = campaign(tmp_path, "--scenarios", "baseline", "--seeds", "7,8,9")
    assert code == reports.EXIT_HARNESS_ERROR
    assert len(runner.calls) == 2
    campaign_dir, document = aggregate(tmp_path)
    assert document["interrupted"] is True
    assert document["verdict"] == "unknown"
    assert [run["seed"] for run in document["runs"]] == [7]
    assert document["unfinished"] == [
        {"scenario": "baseline", "seed": 8},
        {"scenario": "baseline", "seed": 9},
    ]
    assert "**Interrupted**" in (campaign_dir / CAMPAIGN_SUMMARY_FILE).read_text()
    captured = capsys.readouterr()
    assert "verdict: unknown" in captured.out
    assert (
        captured.err == "paychaos: interrupted after 1 of 3 runs; everything started was stopped\n"
    )


def test_the_environments_defects_reach_every_run_and_the_aggregate(tmp_path, runner, monkeypatch):
    monkeypatch.setenv("PAYCHAOS_SUT_DEFECTS", "no-idempotency")
    campaign(tmp_path, "--scenarios", "baseline", "--quiet")
    assert runner.calls == [("baseline", 7, ("no-idempotency",))]
    assert aggregate(tmp_path)[1]["defects"] == ["no-idempotency"]


def test_quiet_prints_only_the_verdict_and_the_aggregate(tmp_path, runner, capsys):
    assert campaign(tmp_path, "--scenarios", "baseline", "--seeds", "7,8", "--quiet") == 0
    campaign_dir, _ = aggregate(tmp_path)
    assert capsys.readouterr().out.splitlines() == [
        "verdict: valid",
        f"campaign: {campaign_dir / CAMPAIGN_FILE}",
    ]


def test_an_unknown_scenario_is_refused_by_name_before_anything_runs(tmp_path, runner, capsys):
    assert campaign(tmp_path, "--scenarios", "baseline,no-such-scenario") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'no-such-scenario'" in err
    assert runner.calls == []
    assert not (tmp_path / "campaigns").exists()


@pytest.mark.parametrize("seeds", ["7,x", "-1", ",", "7.5"])
def test_bad_seeds_exit_3_with_one_line(tmp_path, runner, capsys, seeds):
    with pytest.raises(SystemExit) as caught:
        campaign(tmp_path, "--seeds", seeds)
    assert caught.value.code == reports.EXIT_HARNESS_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds" in err
    assert runner.calls == []


def test_all_is_every_bundled_scenario_once():
    names = [scenario.name for scenario in sweep.plan(["all", "baseline"], seeds=[1])]
    assert names == sweep.bundled_scenarios()
    assert "baseline" in names and "retry-storm" in names


def test_a_scenario_file_path_is_taken_as_run_takes_it(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nseed: 4\nworkload: {clients: 1, rate_per_s: 1, duration_s: 1}\n"
        "invariants: [liveness]\n"
    )
    assert [(s.name, s.seed) for s in sweep.plan([str(path)], seed_count=2)] == [
        ("mine", 4),
        ("mine", 5),
    ]
    with pytest.raises(ScenarioError, match=r"missing\.yaml"):
        sweep.plan([str(tmp_path / "missing.yaml")])


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_display_follows_quiet_and_the_terminal(capsys):
    with run_progress(2, "campaign", quiet=True, stream=Terminal()) as progress:
        assert isinstance(progress, QuietProgress)
    with run_progress(2, "campaign", quiet=False, stream=io.StringIO()) as progress:
        assert isinstance(progress, LineProgress)
        progress.done("valid baseline")
    assert capsys.readouterr().out == "valid baseline\n"
    terminal = Terminal()
    with run_progress(2, "campaign", quiet=False, stream=terminal) as progress:
        assert isinstance(progress, BarProgress)
        progress.start("baseline seed [7]")
        progress.done("valid    baseline [x]")
        progress.done("invalid  baseline")
    shown = terminal.getvalue()
    assert "valid    baseline [x]" in shown
    assert "2/2" in shown
    assert capsys.readouterr().out == ""


def test_analyze_quiet_prints_only_the_verdict_and_the_report(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run", final_state=False)
    assert cli.main(["analyze", "--quiet", str(run_dir)]) == reports.EXIT_UNKNOWN
    assert capsys.readouterr().out.splitlines() == [
        "verdict: unknown",
        f"report: {run_dir / reports.REPORT_FILE}",
    ]
    assert cli.main(["analyze", str(run_dir)]) == reports.EXIT_UNKNOWN
    assert "incomplete run: final state unreadable" in capsys.readouterr().out


def test_run_quiet_prints_only_the_verdict_and_the_report(tmp_path, runner, capsys):
    assert cli.main(["run", "baseline", "--runs-dir", str(tmp_path)]) == 0
    assert "  no_double_charge" in capsys.readouterr().out
    assert cli.main(["run", "baseline", "--runs-dir", str(tmp_path), "--quiet"]) == 0
    run_dir = (tmp_path / "latest").resolve()
    assert capsys.readouterr().out.splitlines() == [
        "verdict: valid",
        f"report: {run_dir / reports.REPORT_FILE}",
    ]


@pytest.fixture
def matrix_runner(monkeypatch):
    stale = "no_stale_balance_approval"
    fake = FakeRunner(
        {
            ("replica-lag", mutants.MATRIX_SEED, ("balance-from-replica",)): {
                "invariants": {stale: ("invalid", {"uncovered_debit": 1})}
            },
            ("replica-lag", mutants.MATRIX_SEED, ()): {"invariants": {stale: ("valid", {})}},
        }
    )
    monkeypatch.setattr(mutants, "run_campaign", fake)
    return fake


def test_mutants_prints_a_line_per_run_then_the_table(tmp_path, matrix_runner, capsys):
    arguments = ["mutants", "--only", "balance-from-replica", "--runs-dir", str(tmp_path)]
    assert cli.main(arguments) == 0
    out = capsys.readouterr().out
    assert len(matrix_runner.calls) == mutants.run_count(mutants.choose(["balance-from-replica"]))
    assert "ok          balance-from-replica" in out
    assert "| balance-from-replica | replica-lag | no_stale_balance_approval |" in out


def test_mutants_quiet_prints_only_the_result_and_the_matrix(tmp_path, matrix_runner, capsys):
    arguments = ["mutants", "--only", "balance-from-replica", "--runs-dir", str(tmp_path), "-q"]
    assert cli.main(arguments) == 0
    matrix_dir = (tmp_path / "latest").resolve()
    assert capsys.readouterr().out.splitlines() == [
        "mutants: passed",
        f"matrix: {matrix_dir / mutants.MATRIX_FILE}",
    ]
