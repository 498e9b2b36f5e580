"""The payments system under test: a Stripe API v1 subset, its worker and its simulators.

Service code here never imports the harness (faults/, invariants/, scenarios/).
"""
