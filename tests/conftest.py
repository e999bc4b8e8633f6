"""Shared fixtures: a seeded autouse fixture and small data factories."""

import copy
import functools
import os
import random
import shutil

import numpy as np
import pytest

# Two cores in CI: keep BLAS and torch from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed every RNG the package touches so each test is reproducible."""
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002  (seeds code that still uses the legacy global RNG)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(0)


@functools.lru_cache(maxsize=16)
def _cached_simulation(kind, items):
    from sk_eeg2music import make_simulated

    return make_simulated(kind, **dict(items))


SMALL = {
    "mos": dict(n_subjects=3, segment_seconds=2.0, audio_sfreq=8000, stimulus_seconds=12.0),
    "nmedt": dict(
        n_subjects=3,
        segment_seconds=2.0,
        audio_sfreq=8000,
        stimulus_seconds=8.0,
        stimuli=("song21", "song25", "song30"),
    ),
}


@pytest.fixture
def simulated():
    """Factory: ``simulated(kind="mos", **overrides)`` -> a private copy of small data.

    Results are cached per argument set for the session; each call returns a
    deep copy, so a test may modify what it gets.
    """

    def factory(kind="mos", **overrides):
        params = {**SMALL[kind], **overrides}
        items = tuple(
            sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items())
        )
        return copy.deepcopy(_cached_simulation(kind, items))

    return factory


@pytest.fixture
def make_eeg():
    """Factory: ``make_eeg(n_trials, n_channels, n_times, seed=0)`` -> random EEG float32.

    Channels get different scales and a shared component, so scalers and
    whitening have something to undo.
    """

    def factory(n_trials=6, n_channels=8, n_times=64, seed=0):
        rng = np.random.default_rng(seed)
        mixing = rng.standard_normal((n_channels, n_channels)) + 2 * np.eye(n_channels)
        scales = rng.uniform(0.5, 5.0, n_channels)[:, None]
        X = np.einsum("ij,tjn->tin", mixing, rng.standard_normal((n_trials, n_channels, n_times)))
        return (scales * X).astype(np.float32)

    return factory


@pytest.fixture
def make_audio():
    """Factory: ``make_audio(n_trials, n_audio, seed=0)`` -> noisy tone waveforms float32."""

    def factory(n_trials=6, n_audio=64 * 125, sfreq=8000, seed=0):
        rng = np.random.default_rng(seed)
        t = np.arange(n_audio) / sfreq
        f0 = rng.uniform(200, 800, (n_trials, 1))
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 3, (n_trials, 1)) * t)
        y = env * np.sin(2 * np.pi * f0 * t) + 0.05 * rng.standard_normal((n_trials, n_audio))
        return y.astype(np.float32)

    return factory


def _missing(message):
    """Skip locally, fail in CI: CI must run the browser tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium():
    """(Playwright's sync API, path of Debian's Chromium); checked before any work.

    Playwright's own browser downloads are never used; without Chromium a
    browser test is skipped locally and fails in CI (``CI`` set).
    """
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
