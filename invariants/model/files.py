"""Every file name of a run directory (``reports/runs/<run-id>/``), and the ``latest`` link.

One owner: writers (the campaign, the reports) and readers (``analyze``, the checkers) import
these names; nothing else spells them.
"""

# What ran, written before the run starts: ``analyze`` re-checks with its invariants.
SCENARIO_FILE = "scenario.json"
# Where the topology's services were, and its test merchants with their secret keys.
ENDPOINTS_FILE = "endpoints.json"
MERCHANTS_FILE = "merchants.json"

# Checker inputs.
HISTORY_FILE = "history.jsonl"
FAULTS_FILE = "faults.jsonl"
FINAL_STATE_FILE = "final_state.json"
# Not a checker input: the fault proxy's toxicity rolls, to compare runs of one seed.
TOXICITY_DECISIONS_FILE = "toxicity_decisions.json"

# Reports rendered from the inputs.
REPORT_FILE = "report.json"
SUMMARY_FILE = "summary.md"
HTML_FILE = "report.html"
JUNIT_FILE = "junit.xml"
# sha256 of every other file, and the run's provenance.
MANIFEST_FILE = "manifest.json"

# In the runs root: a symlink to the newest run directory.
LATEST_LINK = "latest"
# In the runs root: the process that keeps a topology up (`paychaos up`), while it does.
UP_FILE = "up.json"
