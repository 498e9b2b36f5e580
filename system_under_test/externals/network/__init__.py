"""The card network simulator: an external party with its own durable store.

It receives authorizations, refunds and payouts (money movements), records each one durably
before it answers, and does not deduplicate: every request received before its deadline moves
money, even with a reference it has seen. Its records are the ground truth of money moved.
"""

from system_under_test.externals.network.server import make_app

__all__ = ["make_app"]
