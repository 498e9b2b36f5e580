"""``junit.xml``: one testcase per invariant, for CI systems that read JUnit.

``invalid`` is a failure carrying the anomalies' explanations; ``unknown`` is an error (a CI
gate must not read it as a pass); a run with missing inputs adds an erroring ``run_complete``.
"""

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping

# Explanations quoted in one failure; report.json holds the rest.
JUNIT_ANOMALIES_MAX = 10


def render_junit(report: Mapping) -> str:
    """The JUnit XML document of a report.json document."""
    cases = [_invariant_case(report, entry) for entry in report["invariants"]]
    if report.get("gaps"):
        case = ElementTree.Element("testcase", name="run_complete", classname=_suite(report))
        ElementTree.SubElement(
            case, "error", message="the run's inputs are incomplete", type="unknown"
        ).text = "\n".join(report["gaps"])
        cases.append(case)
    suite = ElementTree.Element(
        "testsuite",
        name=_suite(report),
        tests=str(len(cases)),
        failures=str(sum(case.find("failure") is not None for case in cases)),
        errors=str(sum(case.find("error") is not None for case in cases)),
        time=f"{report['stats']['duration_s']:.3f}",
    )
    properties = ElementTree.SubElement(suite, "properties")
    for name in ("run_id", "scenario", "seed", "verdict"):
        ElementTree.SubElement(properties, "property", name=name, value=str(report[name]))
    suite.extend(cases)
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _suite(report: Mapping) -> str:
    return f"paychaos.{report['scenario']}"


def _invariant_case(report: Mapping, entry: Mapping) -> ElementTree.Element:
    case = ElementTree.Element("testcase", name=entry["name"], classname=_suite(report))
    if entry["verdict"] == "invalid":
        failure = ElementTree.SubElement(
            case,
            "failure",
            message=f"{entry['anomaly_count']} anomalies: {', '.join(entry['anomaly_kinds'])}",
            type="invalid",
        )
        shown = entry["anomalies"][:JUNIT_ANOMALIES_MAX]
        failure.text = "\n\n".join(f"{a['kind']}: {a['message']}" for a in shown)
    elif entry["verdict"] == "unknown":
        reasons = entry["error"] or "; ".join(a["message"] for a in entry["anomalies"])
        ElementTree.SubElement(case, "error", message=reasons, type="unknown")
    return case
