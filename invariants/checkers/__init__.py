"""One module per invariant, each with its NAME and `check(ops, fault_windows, final_state)`."""
