"""The charge state machine as a table: PENDING -> PROCESSING -> SUCCEEDED | FAILED.

PROCESSING is committed before the authorization is sent, so a crash after the send always
leaves a charge that recovery can resolve by asking the network, never by sending again.
"""

import enum


class ChargeState(enum.StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ChargeEvent(enum.StrEnum):
    START_AUTHORIZATION = "start_authorization"
    APPROVED = "approved"
    DECLINED = "declined"


class IllegalTransitionError(ValueError):
    """An event that the charge's current state does not accept."""


TRANSITIONS: dict[tuple[ChargeState, ChargeEvent], ChargeState] = {
    (ChargeState.PENDING, ChargeEvent.START_AUTHORIZATION): ChargeState.PROCESSING,
    (ChargeState.PROCESSING, ChargeEvent.APPROVED): ChargeState.SUCCEEDED,
    (ChargeState.PROCESSING, ChargeEvent.DECLINED): ChargeState.FAILED,
}

FINAL_STATES = frozenset({ChargeState.SUCCEEDED, ChargeState.FAILED})

# Stripe's wire `status` for each internal state.
WIRE_STATUS = {
    ChargeState.PENDING: "pending",
    ChargeState.PROCESSING: "pending",
    ChargeState.SUCCEEDED: "succeeded",
    ChargeState.FAILED: "failed",
}


def next_state(state: ChargeState, event: ChargeEvent) -> ChargeState:
    """The state after `event`, or IllegalTransitionError naming both.

    >>> next_state(ChargeState.PROCESSING, ChargeEvent.APPROVED)
    <ChargeState.SUCCEEDED: 'SUCCEEDED'>
    """
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransitionError(f"charge in state {state} does not accept {event}") from None
