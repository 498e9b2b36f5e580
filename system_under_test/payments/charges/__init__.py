"""Charges: the state machine, the atomic phases and the wire object."""
