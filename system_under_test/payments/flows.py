"""Every flow by name: what recovery walks over."""

from system_under_test.payments.charges.phases import FLOW as CHARGE_FLOW
from system_under_test.payments.flow import Flow
from system_under_test.payments.payouts.phases import FLOW as PAYOUT_FLOW
from system_under_test.payments.refunds.phases import FLOW as REFUND_FLOW

FLOWS: dict[str, Flow] = {flow.name: flow for flow in (CHARGE_FLOW, REFUND_FLOW, PAYOUT_FLOW)}
