"""Fixtures of the listening-test tests: a tiny run folder and Debian's Chromium."""

import os
import shutil

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


def _missing(message):
    """Skip locally, fail in CI: CI must run the browser tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium():
    """(Playwright's sync API, path of Debian's Chromium); checked before any work."""
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not path:
        _missing(
            "chromium not found; install it with `make browser-deps` "
            "(Debian: apt-get install chromium)"
        )
    try:
        from playwright import sync_api
    except ImportError:
        _missing("the playwright package is missing; pip install -e '.[test]'")
    return sync_api, path
