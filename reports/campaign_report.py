"""A campaign's aggregate report (``paychaos campaign``): ``campaign.json`` and ``campaign.md``,
built from the report.json document of each run.

The campaign's verdict combines its runs' (invalid over unknown over valid); a run the harness
could not finish, or a campaign stopped before its last run, keeps it from being valid.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from invariants import Verdict, combine

CAMPAIGN_FILE = "campaign.json"
CAMPAIGN_SUMMARY_FILE = "campaign.md"
CAMPAIGN_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CampaignRun:
    """One finished run of a campaign: a scenario with a seed, and what its report says.

    ``error`` is the one-line reason of a run the harness could not complete (it is then
    ``unknown``, with no invariant verdicts).
    """

    scenario: str
    seed: int
    verdict: str
    wall_s: float
    run_dir: str | None
    invariants: dict[str, str] = field(default_factory=dict)
    anomalies: dict[str, int] = field(default_factory=dict)
    faults_confirmed: int = 0
    faults_total: int = 0
    error: str | None = None


def run_from_report(report: Mapping, *, wall_s: float, run_dir: Path | str) -> CampaignRun:
    """The campaign row of a run from its report.json document."""
    entries = report["invariants"]
    return CampaignRun(
        scenario=report["scenario"],
        seed=report["seed"],
        verdict=str(Verdict(report["verdict"])),
        wall_s=round(wall_s, 1),
        run_dir=str(run_dir),
        invariants={entry["name"]: entry["verdict"] for entry in entries},
        anomalies={entry["name"]: entry["anomaly_count"] for entry in entries},
        faults_confirmed=sum(1 for fault in report["faults"] if fault["confirmed"]),
        faults_total=len(report["faults"]),
    )


def failed_run(
    *, scenario: str, seed: int, reason: str, wall_s: float, run_dir: Path | str | None = None
) -> CampaignRun:
    """The row of a run that ended in a harness error: ``unknown``, with its reason."""
    return CampaignRun(
        scenario=scenario,
        seed=seed,
        verdict=str(Verdict.UNKNOWN),
        wall_s=round(wall_s, 1),
        run_dir=None if run_dir is None else str(run_dir),
        error=reason,
    )


def build_campaign(
    runs: Sequence[CampaignRun],
    *,
    planned: Sequence[tuple[str, int]],
    interrupted: bool,
    defects: Sequence[str],
    started_at: str,
    wall_s: float,
) -> dict:
    """The ``campaign.json`` document of the runs that finished, in the order of ``planned``.

    The planned runs past the finished ones are listed as ``unfinished``; any, or an
    interruption, makes the campaign ``unknown`` at best. No run at all is ``unknown``.
    """
    unfinished = list(planned[len(runs) :])
    verdicts = [Verdict(run.verdict) for run in runs]
    if interrupted or unfinished:
        verdicts.append(Verdict.UNKNOWN)
    return {
        "schema_version": CAMPAIGN_SCHEMA_VERSION,
        "verdict": str(combine(verdicts)),
        "interrupted": interrupted,
        "started_at": started_at,
        "wall_s": round(wall_s, 1),
        "defects": list(defects),
        "planned": len(planned),
        "finished": len(runs),
        "verdicts": dict(Counter(run.verdict for run in runs)),
        "runs": [asdict(run) for run in runs],
        "unfinished": [{"scenario": name, "seed": seed} for name, seed in unfinished],
    }


def run_line(run: CampaignRun) -> str:
    """One line per finished run, as long commands print them."""
    return (
        f"{run.verdict:<8} {run.scenario:<22} seed {run.seed:<6} {run.wall_s:>7.1f} s  "
        f"{_outcome(run)}"
    )


def _outcome(run: CampaignRun) -> str:
    if run.error is not None:
        return f"harness error: {run.error}"
    not_valid = [
        f"{name} {verdict} ({run.anomalies.get(name, 0)})"
        for name, verdict in run.invariants.items()
        if verdict != Verdict.VALID
    ]
    if not_valid:
        return ", ".join(not_valid)
    return f"all {len(run.invariants)} invariants valid"


def render_campaign_md(document: Mapping) -> str:
    """Markdown for a ``campaign.json`` document: the verdict, then one table row per run."""
    verdict = document["verdict"]
    counts = ", ".join(f"{name} {count}" for name, count in sorted(document["verdicts"].items()))
    defects = ", ".join(f"`{name}`" for name in document["defects"]) or "none"
    lines = [
        f"# Campaign verdict: {verdict.upper()}",
        "",
        f"{document['finished']} of {document['planned']} runs finished "
        f"({counts or 'none'}); defects: {defects}; started {document['started_at']}, "
        f"{document['wall_s']:.1f} s.",
    ]
    if document["interrupted"]:
        lines += ["", "**Interrupted**: not valid whatever the finished runs say."]
    lines += [
        "",
        "| scenario | seed | verdict | invariants | anomalies | faults confirmed | wall | run |",
        "|---|---:|---|---|---:|---:|---:|---|",
    ]
    for run in document["runs"]:
        lines.append(_table_row(CampaignRun(**run)))
    if document["unfinished"]:
        lines += ["", "## Not run", ""]
        lines += [f"- `{run['scenario']}` seed {run['seed']}" for run in document["unfinished"]]
    return "\n".join(lines) + "\n"


def _table_row(run: CampaignRun) -> str:
    cells = [
        run.scenario,
        str(run.seed),
        run.verdict,
        _outcome(run),
        str(sum(run.anomalies.values())),
        f"{run.faults_confirmed}/{run.faults_total}",
        f"{run.wall_s:.1f} s",
        f"`{run.run_dir}`" if run.run_dir else "-",
    ]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    # An error message may hold a pipe or a line break; either would split the table.
    return " ".join(text.split()).replace("|", "\\|")
