"""Background work of the payments system: recovery of movements left PROCESSING, and the
idempotency-key reaper."""

# Logged once the worker's loop runs; the deployment waits for it to call the worker ready.
READY_LINE = "recovery loop started"
