"""Fault injection: the Toxiproxy-API fault proxy, link and process faults, the nemesis."""
