"""Test cards, as Stripe documents them, and the network's decision for each."""

# card number -> decline code; any other well-formed number is approved.
DECLINES = {
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    # The issuer failed to process it: Stripe reports processing_error, not a decline.
    "4000000000000119": "processing_error",
}


def decide(card_number: str) -> str | None:
    """The decline code for `card_number`, or None when the network approves it."""
    return DECLINES.get(card_number)
