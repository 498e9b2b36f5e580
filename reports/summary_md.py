"""``summary.md``: the short human report of a run, rendered from the report.json document."""

import json
from collections.abc import Mapping

from invariants import MOVEMENT_KINDS, MOVEMENT_STATES
from reports.exit_codes import exit_code

# A summary is read by people: a few examples per invariant say what went wrong; report.json
# holds the rest.
SUMMARY_ANOMALIES_MAX = 3
# One line per evidence field; a key retried many times has a long op list, and its head is
# enough to find the ops in report.json.
EVIDENCE_LINE_CHARS_MAX = 240


def render_summary(report: Mapping) -> str:
    """Markdown for a ``report.json`` document: verdict first, then invariants, anomalies,
    op statistics, faults and provenance.

    >>> render_summary(report).splitlines()[0]  # doctest: +SKIP
    '# Verdict: VALID'
    """
    sections = [
        _heading(report),
        _gaps(report.get("gaps", [])),
        _invariants(report["invariants"]),
        _anomalies(report["invariants"]),
        _operations(report["stats"]),
        _faults(report["faults"]),
        _provenance(report["provenance"]),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _heading(report: Mapping) -> str:
    verdict = report["verdict"]
    return (
        f"# Verdict: {verdict.upper()}\n\n"
        f"Run `{report['run_id']}`: scenario `{report['scenario']}`, seed {report['seed']}, "
        f"{report['stats']['duration_s']:.1f} s, exit code {exit_code(verdict)}."
    )


def _gaps(gaps: list[str]) -> str:
    if not gaps:
        return ""
    lines = "\n".join(f"- {gap}" for gap in gaps)
    return f"## Incomplete run: not valid whatever the checks say\n\n{lines}"


def _invariants(invariants: list[Mapping]) -> str:
    rows = [
        [entry["name"], entry["verdict"], str(entry["anomaly_count"]), entry["error"] or ""]
        for entry in invariants
    ]
    return "## Invariants\n\n" + _table(["invariant", "verdict", "anomalies", "error"], rows)


def _anomalies(invariants: list[Mapping]) -> str:
    parts = []
    for entry in invariants:
        if not entry["anomalies"]:
            continue
        parts.append(f"### {entry['name']} ({entry['verdict']})")
        parts.extend(_anomaly(anomaly) for anomaly in entry["anomalies"][:SUMMARY_ANOMALIES_MAX])
        hidden = entry["anomaly_count"] - min(len(entry["anomalies"]), SUMMARY_ANOMALIES_MAX)
        if hidden:
            kinds = ", ".join(
                f"{kind}: {kind_entry['count']}"
                for kind, kind_entry in entry["anomaly_kinds"].items()
            )
            parts.append(f"... and {hidden} more in report.json (by kind: {kinds})")
    if not parts:
        return ""
    return "## Anomalies\n\n" + "\n\n".join(parts)


def _anomaly(anomaly: Mapping) -> str:
    lines = [_evidence_line(name, value) for name, value in anomaly["evidence"].items()]
    evidence = "\n".join(f"  {line}" for line in lines)
    return f"- **{anomaly['kind']}**: {anomaly['message']}\n\n  ```\n{evidence}\n  ```"


def _evidence_line(name: str, value: object) -> str:
    line = f"{name}: {json.dumps(value)}"
    if len(line) <= EVIDENCE_LINE_CHARS_MAX:
        return line
    return line[:EVIDENCE_LINE_CHARS_MAX] + " ..."


def _operations(stats: Mapping) -> str:
    rows = [
        [f, str(counts["ok"]), str(counts["fail"]), str(counts["info"])]
        for f, counts in stats["ops"].items()
    ]
    outcomes = ["count", "succeeded", "failed", "indeterminate"]
    key_rows = [
        [name, *(str(keys[outcome]) for outcome in outcomes)]
        for name, keys in stats["keys"].items()
    ]
    return (
        "## Operations\n\n"
        + _table(["f", "ok", "fail", "info"], rows)
        + "\n\nIdempotency keys (per merchant) by how their attempts ended:\n\n"
        + _table(["movement", "keys", *outcomes[1:]], key_rows)
        + "\n\nLogical payments (planned writes) and the client's own duplicates: payments "
        "that moved money under more than one key (a careless client's new key per retry; "
        "one key moving money twice is the system's, reported by no_double_charge):\n\n"
        + _payments(stats["payments"])
        + "\n\nFinal rows on the primary by state, and their network records by outcome:\n\n"
        + _final_rows(stats)
    )


def _payments(payments: Mapping) -> str:
    columns = ["count", "multiple_keys", "duplicated", "duplicate_movements"]
    rows = [
        [name, *(str(counts[column]) for column in columns)] for name, counts in payments.items()
    ]
    header = ["movement", "payments", "sent under several keys", "duplicated by the client"]
    return _table([*header, "duplicate movements"], rows)


def _final_rows(stats: Mapping) -> str:
    states = sorted(MOVEMENT_STATES)
    rows = []
    for kind in MOVEMENT_KINDS:
        records = stats[kind.record_list]
        outcomes = ", ".join(f"{outcome} {count}" for outcome, count in records.items())
        recovered = stats[f"{kind.plural}_resolved_by_recovery"]
        counts = (str(stats[kind.plural][state]) for state in states)
        rows.append([kind.plural, *counts, str(recovered), f"{kind.record_list}: {outcomes}"])
    return _table(["rows", *states, "resolved by recovery", "network records"], rows)


def _faults(faults: list[Mapping]) -> str:
    if not faults:
        return "## Faults\n\nNo faults were injected."
    rows = [
        [
            fault["name"],
            fault["fault"],
            fault["target"],
            f"{fault['start_s']:.3f}",
            "never" if fault["stop_s"] is None else f"{fault['stop_s']:.3f}",
            "yes" if fault["confirmed"] is True else "no",
        ]
        for fault in faults
    ]
    header = ["name", "fault", "target", "start s", "stop s", "confirmed"]
    return "## Faults\n\n" + _table(header, rows)


def _provenance(provenance: Mapping) -> str:
    lines = [
        f"- {name}: {value if isinstance(value, str) else json.dumps(value)}"
        for name, value in provenance.items()
    ]
    return "## Provenance\n\n" + "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [_row(header), _row(["---"] * len(header))]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    # A pipe or a newline inside a cell would break the table.
    escaped = (cell.replace("|", "\\|").replace("\n", " ") for cell in cells)
    return "| " + " | ".join(escaped) + " |"
