"""Deployment failures that the user can act on, each with a one-line message."""


class DeployError(RuntimeError):
    """A topology could not be started: a missing binary, a taken port, a service that died."""
