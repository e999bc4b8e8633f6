"""Cross-validation spread over processes: joblib's default backend and dask.distributed.

Each backend must give the scores of the serial run: estimators and data are
pickled to the workers, each fold refits the whole pipeline there, and nothing
depends on which worker runs which fold. "The same" is up to the last bits of
float arithmetic: joblib gives each worker ``n_cores // n_jobs`` BLAS threads,
and OpenBLAS sums in a thread-dependent order (relative differences ~1e-6 seen
on 2 cores), while a fold scored on the wrong data or with another fold's
state differs by orders of magnitude more.
"""

import logging

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline

from sk_eeg2music import ChannelScaler, EuclideanAlignment, LinearDecoder
from sk_eeg2music.metrics import make_scorers


@pytest.fixture(scope="module")
def study():
    from sk_eeg2music import make_simulated

    data = make_simulated(
        "mos", n_subjects=3, segment_seconds=2.0, audio_sfreq=8000, stimulus_seconds=8.0
    )
    pipe = make_pipeline(
        ChannelScaler(),
        EuclideanAlignment(),
        LinearDecoder(target="envelope", alphas=[1.0], sfreq=data.sfreq),
    )
    scoring = {
        k: v for k, v in make_scorers(data.audio_sfreq).items() if k in ("envelope_r", "waveform_r")
    }
    kwargs = dict(cv=LeaveOneGroupOut(), groups=data.subject, scoring=scoring)
    serial = cross_validate(pipe, data.X, data.y, n_jobs=1, **kwargs)
    return pipe, data, kwargs, serial


def _assert_same_scores(result, serial):
    for key in serial:
        if key.startswith("test_"):
            np.testing.assert_allclose(result[key], serial[key], rtol=1e-4, err_msg=key)


def test_loky_processes_give_the_serial_scores(study):
    pipe, data, kwargs, serial = study
    assert len(serial["test_envelope_r"]) == 3
    _assert_same_scores(cross_validate(pipe, data.X, data.y, n_jobs=2, **kwargs), serial)


# Two worker processes that each import the package (torch, MNE, librosa): ~40 s
# on 2 loaded cores. Needs the ``distributed`` extra; run with ``pytest -m slow``.
@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_scores(study):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    pipe, data, kwargs, serial = study
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
        parallel_config(backend="dask"),
    ):
        result = cross_validate(pipe, data.X, data.y, n_jobs=2, **kwargs)
        # Folds really ran on the worker processes, not in this one.
        assert len(client.scheduler_info()["workers"]) == 2
    _assert_same_scores(result, serial)
