"""Fixtures of the listening-test tests: a tiny run folder (Chromium: tests/conftest.py)."""

import pytest
from _listening_helpers import write_tiny_run


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """Factory: ``tiny_run(conditions=..., stimuli=..., layout=...)`` -> a run folder.

    Written once per argument set for the session (its spectrograms take a
    second); make_test only reads a run, so tests share it.
    """
    cache = {}

    def factory(**kwargs):
        key = tuple(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in kwargs.items()))
        if key not in cache:
            cache[key] = write_tiny_run(tmp_path_factory.mktemp("run") / "run", **kwargs)
        return cache[key]

    return factory
