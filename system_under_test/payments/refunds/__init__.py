"""Refunds: the create phase (a decision on the charge's remainder and the merchant's balance),
the ledger postings and the wire object."""
