"""Object ids in Stripe's style: a type prefix and a random suffix."""

import secrets


def new_id(prefix: str) -> str:
    """A fresh id such as `ch_3f9a...`; 24 hex characters make collisions negligible."""
    return f"{prefix}_{secrets.token_hex(12)}"
