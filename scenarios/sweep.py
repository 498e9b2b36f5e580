"""`paychaos campaign`: each chosen scenario with each chosen seed, one run after the other,
and one aggregate report of them all (reports/campaign_report.py).

A run the harness cannot complete (a deploy that fails, a run file it cannot read) is that
run's `unknown`, with its reason, and the others still run. Ctrl-C (or SIGTERM) stops the
campaign; the run it stopped tears its topology down, and the aggregate of the runs that
finished is still written, marked interrupted.
"""

import datetime
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import invariants
import reports
from invariants.model.files import LATEST_LINK
from reports.campaign_report import (
    CAMPAIGN_FILE,
    CAMPAIGN_SUMMARY_FILE,
    CampaignRun,
    build_campaign,
    failed_run,
    render_campaign_md,
    run_from_report,
    run_line,
)
from scenarios.campaign import CampaignOutcome, point_latest
from scenarios.progress import RunProgress
from scenarios.scenario import SCENARIO_DIRECTORY, Scenario, load_scenario

log = logging.getLogger("paychaos.sweep")

ALL_SCENARIOS = "all"
CAMPAIGNS_DIRECTORY = "campaigns"
RUNS_DIRECTORY = "runs"

# Runs one scenario (its seed already set) into a runs root: `run_campaign` with the defects.
RunOne = Callable[..., CampaignOutcome]


def bundled_scenarios() -> list[str]:
    """The names of the scenarios in scenarios/files/, sorted."""
    return sorted(path.stem for path in SCENARIO_DIRECTORY.glob("*.yaml"))


def plan(
    names: Sequence[str], *, seeds: Sequence[int] | None = None, seed_count: int = 1
) -> list[Scenario]:
    """Each scenario of `names` (bundled names or YAML paths as `run` takes; `all`: every
    bundled one) with each seed, scenario by scenario; every one is loaded and validated before
    anything runs, so a bad name or seed is refused (ScenarioError) with nothing started.

    Without `seeds`, a scenario runs with its own seed and the `seed_count - 1` after it, so
    `--seed-count 1` repeats what `paychaos run NAME` does.
    """
    expanded = [
        name
        for entry in names
        for name in (bundled_scenarios() if entry == ALL_SCENARIOS else [entry])
    ]
    known = frozenset(invariants.CHECKERS)
    chosen = []
    for name in dict.fromkeys(expanded):
        base = load_scenario(name, known_invariants=known)
        for seed in seeds if seeds is not None else range(base.seed, base.seed + seed_count):
            chosen.append(load_scenario(name, known_invariants=known, seed=seed))
    return chosen


def new_campaign_dir(runs_root: Path) -> Path:
    """A fresh directory for a campaign under `runs_root/campaigns/`, pointed at by the
    `latest` link there."""
    campaigns = runs_root / CAMPAIGNS_DIRECTORY
    campaigns.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    campaign_dir = campaigns / f"{stamp}-campaign-{secrets.token_hex(2)}"
    campaign_dir.mkdir()
    point_latest(campaigns, campaign_dir)
    return campaign_dir


@dataclass(frozen=True)
class SweepOutcome:
    """The aggregate document and where it was written."""

    campaign_dir: Path
    document: dict

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C or SIGTERM stopped the campaign before its last run."""
        return self.document["interrupted"]


def run_sweep(
    scenarios: Sequence[Scenario],
    campaign_dir: Path,
    *,
    run_one: RunOne,
    progress: RunProgress,
    defects: Sequence[str] = (),
) -> SweepOutcome:
    """Run each scenario with `run_one` into `campaign_dir/runs/`, one after the other, and
    write campaign.json and campaign.md into `campaign_dir` (also when interrupted)."""
    runs_root = campaign_dir / RUNS_DIRECTORY
    runs_root.mkdir(parents=True, exist_ok=True)
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    runs: list[CampaignRun] = []
    interrupted = False
    try:
        for scenario in scenarios:
            progress.start(f"{scenario.name} seed {scenario.seed}")
            runs.append(_run(scenario, runs_root, run_one))
            progress.done(run_line(runs[-1]))
    except KeyboardInterrupt:
        # The stopped run has torn its topology down already (run_campaign's finally).
        interrupted = True
    document = build_campaign(
        runs,
        planned=[(scenario.name, scenario.seed) for scenario in scenarios],
        interrupted=interrupted,
        defects=defects,
        started_at=started_at,
        wall_s=time.monotonic() - started,
    )
    reports.write_atomic(campaign_dir / CAMPAIGN_FILE, json.dumps(document, indent=2) + "\n")
    reports.write_atomic(campaign_dir / CAMPAIGN_SUMMARY_FILE, render_campaign_md(document))
    return SweepOutcome(campaign_dir, document)


def _run(scenario: Scenario, runs_root: Path, run_one: RunOne) -> CampaignRun:
    started = time.monotonic()
    before = _latest(runs_root)
    try:
        outcome = run_one(scenario, runs_root=runs_root)
    except Exception as error:
        # Whatever failed (a taken port, a topology that did not come up, an unreadable run
        # file, a bug), this run cannot pass; the campaign records why and goes on.
        log.info("%s seed %d failed", scenario.name, scenario.seed, exc_info=True)
        after = _latest(runs_root)
        return failed_run(
            scenario=scenario.name,
            seed=scenario.seed,
            reason=_one_line(error),
            wall_s=time.monotonic() - started,
            run_dir=after if after != before else None,
        )
    return run_from_report(
        outcome.report, wall_s=time.monotonic() - started, run_dir=outcome.run_dir
    )


def _one_line(error: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def _latest(runs_root: Path) -> Path | None:
    # run_campaign points the link at its run directory as soon as it makes it, so a run that
    # failed later is found by the link having moved.
    link = runs_root / LATEST_LINK
    return runs_root / os.readlink(link) if link.is_symlink() else None
