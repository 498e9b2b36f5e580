"""Scenarios compose the rest: scenario files, workload clients, the campaign runner, the CLI."""
