"""Deployment backends by name: `local` is registered, another backend is one registration,
an unknown name is refused with the names that exist."""

import pytest

from system_under_test.deploy import (
    DEFAULT_BACKEND,
    DeployError,
    LocalTopology,
    backend_names,
    new_topology,
    topology,
)


def test_the_default_backend_is_the_local_topology(tmp_path):
    made = new_topology(tmp_path, merchant_count=3, seed=5)

    assert DEFAULT_BACKEND == "local" and "local" in backend_names()
    assert isinstance(made, LocalTopology)
    assert (made.run_dir, made.merchant_count, made.seed) == (tmp_path, 3, 5)


def test_a_registered_backend_is_made_by_name_with_the_options(tmp_path, monkeypatch):
    made = []
    monkeypatch.setitem(
        topology._BACKENDS, "other", lambda run_dir, **options: made.append((run_dir, options))
    )

    new_topology(tmp_path, backend="other", seed=9)

    assert made == [(tmp_path, {"seed": 9})]


def test_an_unknown_backend_is_refused_by_name(tmp_path):
    with pytest.raises(DeployError, match=r"unknown deployment backend 'nope' \(known: .*local"):
        new_topology(tmp_path, backend="nope")
