"""Observing the system after the faults: quiescence and the final reads."""
