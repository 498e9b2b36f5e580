"""``report.html``: the run for a reader, self-contained (no network, no scripts): a verdict
banner, the invariant table, a timeline of throughput and latency with the faults shaded,
every anomaly with its evidence, and the command that reproduces the run.

Jinja2 renders it, escaping every value: evidence quotes request data verbatim.
"""

import shlex
from collections.abc import Mapping

import jinja2

from reports.charts import timeline_svg
from reports.exit_codes import exit_code

HTML_ANOMALIES_MAX = 25
# What each invariant guarantees, in a reader's words.
GUARANTEES = {
    "no_double_charge": "One idempotency key, one payment: money moves at most once per key.",
    "no_lost_write": "Every acknowledged payment is on the primary as acknowledged and a "
    "read-back right after sees it; every movement the network approved has its record; each "
    "merchant's ledger holds at least what was acknowledged and at most that plus the "
    "uncertain requests.",
    "no_stale_balance_approval": "Every refund and payout was decided on the primary's "
    "balance at the moment it was applied, and that balance covered it.",
    "idempotent_replay": "A retried key gets its one stored answer back; other parameters "
    "under the key are refused; a key runs once.",
    "legal_state_transitions": "Every charge, refund and payout went through its state "
    "machine by recorded legal steps to exactly one final state, the one its record holds.",
    "ledger_conservation": "Every ledger transaction sums to zero; every balance equals its "
    "entries.",
    "network_reconciliation": "Every account equals the money the card network says moved.",
    "liveness": "The run did work, its faults took effect and its final reads completed.",
}
_SENTENCES = {
    "valid": "Every invariant held against the network's records, with every fault confirmed.",
    "invalid": "At least one invariant was violated: money went wrong. The anomalies below "
    "say which, where and how much.",
    "unknown": "The run could not show either way: see why in the table below. Do not read "
    "this as a pass.",
}
_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def render_html(report: Mapping) -> str:
    """The report.html document of a report.json document."""
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        report=report,
        exit_code=exit_code(report["verdict"]),
        verdict_sentence=_SENTENCES[report["verdict"]],
        guarantees=GUARANTEES,
        reproduce=reproduce_command(report),
        timeline_svg=timeline_svg(report),
        anomalies_max=HTML_ANOMALIES_MAX,
    )


def reproduce_command(report: Mapping) -> str:
    """The shell commands that re-run this run, at the project's root on any machine: the
    commit, the defects, the scenario (as the run recorded it can be found again) and seed."""
    provenance = report["provenance"]
    lines = []
    commit = provenance.get("git_commit")
    if commit:
        lines.append(f"git checkout {commit}")
    defects = provenance.get("defects") or []
    prefix = f"PAYCHAOS_SUT_DEFECTS={shlex.quote(','.join(defects))} " if defects else ""
    scenario = (
        provenance.get("scenario_reference")
        or provenance.get("scenario_file")
        or report["scenario"]
    )
    lines.append(
        f"{prefix}.venv/bin/paychaos run {shlex.quote(str(scenario))} --seed {report['seed']}"
    )
    return "\n".join(lines)
