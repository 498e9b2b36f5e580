"""The workload: seeded plans (pure data), and the clients that turn them into history ops."""
