"""The recovery points of each request kind: where an interrupted request resumes.

A request moves through its kind's points in order, one atomic phase between two points:

- `started`: the key is claimed; nothing else exists. The create phase runs from here: it
  commits the object PROCESSING (and, for a debit, reserves the money) before the network hears
  of it.
- `<kind>_processing`: the object exists and may have been sent. A resumed request never sends
  it again: it answers from the object once the object is final (the API's own resolve phase or
  the recovery worker's look-up made it so), and asks the client to retry until then.
- `finished`: the final response is stored; every later request with the key replays it.
"""

STARTED = "started"
FINISHED = "finished"

RECOVERY_POINTS: dict[str, tuple[str, ...]] = {
    "charge": (STARTED, "charge_processing", FINISHED),
    "refund": (STARTED, "refund_processing", FINISHED),
    "payout": (STARTED, "payout_processing", FINISHED),
}


def processing_point(request_kind: str) -> str:
    """The point after the create phase of `request_kind`.

    >>> processing_point("refund")
    'refund_processing'
    """
    return RECOVERY_POINTS[request_kind][1]
