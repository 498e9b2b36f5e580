"""The outside world of the payments system, each party its own process with its own store.

Their records are the ground truth of what really happened.
"""
