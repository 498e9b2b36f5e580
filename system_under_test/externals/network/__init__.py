"""The card network simulator: an external party with its own durable store.

It does not deduplicate: every authorization it receives moves money. Its records are the
ground truth of money moved.
"""
