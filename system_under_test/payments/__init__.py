"""The payments domain, free of aiohttp: idempotency phases, charges, the ledger."""
