"""Background work of the payments system: the recovery of charges left PROCESSING."""
