"""Payouts: the create phase (a decision on the merchant's balance), the ledger postings and
the wire object."""
