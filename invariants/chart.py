"""The ledger's words as final_state.json carries them: account kinds and posting kinds.

The checkers read the ledger by these names; a unit test holds them equal to the SUT's chart,
so that a renamed account cannot silently leave a checker with nothing to read.
"""

MERCHANT_AVAILABLE = "merchant_available"
NETWORK_RECEIVABLE = "network_receivable"
REFUND_CLEARING = "refund_clearing"
PAYOUT_CLEARING = "payout_clearing"
PAYOUTS_SETTLED = "payouts_settled"

# The ledger transaction that reserves a debit, by movement kind.
RESERVE_POSTINGS = {"refund": "refund_reserved", "payout": "payout_reserved"}

# The ledger transactions that move a merchant's available balance, by the kind of movement
# they belong to; each entry's sign says whether it credits or debits the merchant.
MERCHANT_POSTINGS = {
    "charge_succeeded": "charge",
    "refund_reserved": "refund",
    "refund_failed": "refund",
    "payout_reserved": "payout",
    "payout_failed": "payout",
}
