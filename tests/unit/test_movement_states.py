import pytest

from system_under_test.payments.states import (
    IllegalTransitionError,
    MovementEvent,
    MovementState,
    next_state,
)


def test_processing_then_a_final_state():
    processing = next_state(MovementState.PENDING, MovementEvent.START_PROCESSING)
    assert processing is MovementState.PROCESSING
    assert next_state(processing, MovementEvent.APPROVED) is MovementState.SUCCEEDED
    assert next_state(processing, MovementEvent.REFUSED) is MovementState.FAILED


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (MovementState.PENDING, MovementEvent.APPROVED),
        (MovementState.SUCCEEDED, MovementEvent.REFUSED),
        (MovementState.FAILED, MovementEvent.APPROVED),
        (MovementState.SUCCEEDED, MovementEvent.START_PROCESSING),
    ],
)
def test_illegal_transition_names_state_and_event(state, event):
    with pytest.raises(IllegalTransitionError, match=f"{state}.*{event}"):
        next_state(state, event)
