"""Fixtures shared by the unit and the integration tests."""

import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture
def unrelated_sleep() -> Iterator[subprocess.Popen]:
    """A process that is none of paychaos's, killed on the way out whatever the test did."""
    process = subprocess.Popen(["sleep", "300"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()
