import pytest

from system_under_test.payments.charges.states import (
    ChargeEvent,
    ChargeState,
    IllegalTransitionError,
    next_state,
)


def test_processing_then_a_final_state():
    processing = next_state(ChargeState.PENDING, ChargeEvent.START_AUTHORIZATION)
    assert processing is ChargeState.PROCESSING
    assert next_state(processing, ChargeEvent.APPROVED) is ChargeState.SUCCEEDED
    assert next_state(processing, ChargeEvent.DECLINED) is ChargeState.FAILED


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (ChargeState.PENDING, ChargeEvent.APPROVED),
        (ChargeState.SUCCEEDED, ChargeEvent.DECLINED),
        (ChargeState.FAILED, ChargeEvent.APPROVED),
        (ChargeState.SUCCEEDED, ChargeEvent.START_AUTHORIZATION),
    ],
)
def test_illegal_transition_names_state_and_event(state, event):
    with pytest.raises(IllegalTransitionError, match=f"{state}.*{event}"):
        next_state(state, event)
