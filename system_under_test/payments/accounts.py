"""The ledger's chart of accounts: which accounts exist, per currency.

Signs: credits positive, debits negative; every transaction's entries sum to zero, so the sum
of all balances in a currency is always zero.

- `merchant_available` (one per merchant): what the merchant may refund or pay out.
- `network_receivable`: what the card network owes the platform for approved charges, less
  what it paid back for refunds (negative while it owes).
- `refund_clearing` / `payout_clearing`: money reserved by a refund or payout decision and
  not yet resolved at the network; zero once every movement is final.
- `payouts_settled`: money sent to merchants' banks.
"""

# The currencies balances are held in, each with Stripe's smallest charge in it (minor units).
CHARGE_AMOUNT_MIN = {"usd": 50, "eur": 50, "gbp": 30}
CURRENCIES = tuple(CHARGE_AMOUNT_MIN)

MERCHANT_AVAILABLE = "merchant_available"
NETWORK_RECEIVABLE = "network_receivable"
REFUND_CLEARING = "refund_clearing"
PAYOUT_CLEARING = "payout_clearing"
PAYOUTS_SETTLED = "payouts_settled"

MERCHANT_ACCOUNT_KINDS = (MERCHANT_AVAILABLE,)
PLATFORM_ACCOUNT_KINDS = (NETWORK_RECEIVABLE, REFUND_CLEARING, PAYOUT_CLEARING, PAYOUTS_SETTLED)
