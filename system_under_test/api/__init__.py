"""The Stripe API v1 subset served over aiohttp."""
