"""The state machine of every money movement (charge, refund, payout), as a table:
PENDING -> PROCESSING -> SUCCEEDED | FAILED.

PROCESSING is committed before the movement is sent to the network, so a crash after the send
always leaves an object that recovery can resolve by asking the network, never by sending again.
"""

import enum


class MovementState(enum.StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class MovementEvent(enum.StrEnum):
    START_PROCESSING = "start_processing"
    APPROVED = "approved"
    # Declined, expired, or never received by the network: no money moved.
    REFUSED = "refused"


class IllegalTransitionError(ValueError):
    """An event that the movement's current state does not accept."""


TRANSITIONS: dict[tuple[MovementState, MovementEvent], MovementState] = {
    (MovementState.PENDING, MovementEvent.START_PROCESSING): MovementState.PROCESSING,
    (MovementState.PROCESSING, MovementEvent.APPROVED): MovementState.SUCCEEDED,
    (MovementState.PROCESSING, MovementEvent.REFUSED): MovementState.FAILED,
}

FINAL_STATES = frozenset({MovementState.SUCCEEDED, MovementState.FAILED})
UNRESOLVED_STATES = frozenset({MovementState.PENDING, MovementState.PROCESSING})


def next_state(state: MovementState, event: MovementEvent) -> MovementState:
    """The state after `event`, or IllegalTransitionError naming both.

    >>> next_state(MovementState.PROCESSING, MovementEvent.APPROVED)
    <MovementState.SUCCEEDED: 'SUCCEEDED'>
    """
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransitionError(
            f"a movement in state {state} does not accept {event}"
        ) from None
