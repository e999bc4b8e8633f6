"""Fuzzed inputs: finite output or a clear ValueError from every public entry point.

Arrays of random shapes (including empty and wrong-rank ones), dtypes (ints,
bools, float16/32/64, complex) and values (NaN, inf, huge, tiny, constant) go
to the transformers, the metrics and the estimators' ``fit``/``predict``. A
failure must be a ``ValueError`` raised by the package's own validation (not a
numpy ``LinAlgError``, a torch ``RuntimeError`` or an ``IndexError``), and a
result must never hold NaN or inf.
"""

import linecache
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sk_eeg2music import (
    BandpassFilter,
    ChannelScaler,
    Clip,
    EEG2MusicGAN,
    EuclideanAlignment,
    LinearDecoder,
    Resample,
    metrics,
)

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 15)),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

DTYPES = st.sampled_from(
    [np.float32, np.float64, np.float16, np.int16, np.int64, np.bool_, np.complex64]
)
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30, 0.0, 3e38])


@st.composite
def arrays(draw, shapes):
    """An array of a drawn shape and dtype, sometimes with special values planted."""
    shape = draw(shapes)
    dtype = draw(DTYPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([1.0, 1e-6, 1e6, 0.0, 1e-40, 1e30]))
    x = rng.standard_normal(shape) * scale
    if x.size and draw(st.booleans()):
        flat = x.reshape(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, x.size - 1))] = draw(SPECIAL)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x.astype(dtype)


def eeg_shapes(max_side=6, max_times=48):
    """Mostly 3-D ``(n_trials, n_channels, n_times)``, with some wrong ranks and empty axes."""

    @st.composite
    def shape(draw):
        n = draw(st.sampled_from([3, 3, 3, draw(st.integers(1, 4))]))
        side = st.integers(0, max_side)
        dims = [draw(side) for _ in range(n)]
        if n == 3:
            dims[2] = draw(st.integers(0, max_times))
        return tuple(dims)

    return shape()


# Where a ValueError counts as the package's own: a ``raise`` in the package, or in
# the scikit-learn checks that its estimators call (``validate_data`` and the
# ``_parameter_constraints`` validation).
_VALIDATING_MODULES = (
    "sk_eeg2music",
    "sklearn.utils.validation",
    "sklearn.utils._param_validation",
)


def raised_by_validation(exc):
    """``(True, where)`` if ``exc`` was raised by a ``raise`` statement of the package's
    validation, ``(False, where)`` if it came from inside numpy, scipy, torch, ..."""
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "")
    line = linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno).strip()
    where = f"{module}:{tb.tb_lineno}: {line}"
    return module.startswith(_VALIDATING_MODULES) and line.startswith("raise"), where


def check_outcome(call, *args, **kwargs):
    """Run ``call``; a result must be finite, an error a package ValueError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call(*args, **kwargs)
    except np.linalg.LinAlgError as exc:  # a ValueError subclass, but an internal one
        pytest.fail(f"numpy LinAlgError leaked out of {call}: {exc}")
    except ValueError as exc:
        assert str(exc), "ValueError without a message"
        own, where = raised_by_validation(exc)
        assert own, f"{call} let a ValueError from {where!r} through: {exc}"
        return None
    except TypeError as exc:
        # Non-numeric input keeps numpy's TypeError; every array here is numeric.
        pytest.fail(f"{call} raised TypeError on numeric input: {exc}")
    values = np.asarray(out, dtype=np.float64) if np.ndim(out) or np.isscalar(out) else out
    assert np.all(np.isfinite(values)), f"{call} returned non-finite values silently"
    return out


TRANSFORMERS = [
    ChannelScaler(),
    ChannelScaler(robust=True),
    Clip(3.0),
    EuclideanAlignment(),
    BandpassFilter(1.0, 20.0, sfreq=100.0, method="iir"),
    Resample(100.0, 50.0),
]


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
@FUZZ
@given(X=arrays(eeg_shapes()), X_new=arrays(eeg_shapes()))
def test_transformers(transformer, X, X_new):
    from sklearn.base import clone

    est = clone(transformer)
    Xt = check_outcome(est.fit_transform, X)
    if Xt is not None:
        assert Xt.shape[:2] == X.shape[:2] or X.ndim == 2
        check_outcome(est.transform, X_new)


METRICS = [
    metrics.mel_correlation,
    metrics.envelope_correlation,
    metrics.waveform_correlation,
    metrics.mel_cepstral_distortion,
    metrics.log_spectral_distance,
    metrics.si_sdr,
    metrics.identification_accuracy,
]
AUDIO = st.one_of(
    st.tuples(st.integers(0, 4), st.integers(0, 700)),
    st.tuples(st.integers(0, 700)),
    st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 50)),
)
SFREQ = st.sampled_from([8000.0, 1000.0, 100.0, 0.0, -1.0, np.nan, np.inf])


@pytest.mark.parametrize("metric", METRICS, ids=lambda f: f.__name__)
@FUZZ
@given(y_true=arrays(AUDIO), data=st.data(), sfreq=SFREQ)
def test_metrics(metric, y_true, data, sfreq):
    same_shape = data.draw(st.booleans())
    y_pred = data.draw(arrays(st.just(y_true.shape) if same_shape else AUDIO))
    check_outcome(metric, y_true, y_pred, sfreq=sfreq)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 32)).astype(np.float32)
    y = (0.1 * rng.standard_normal((6, 32 * 8))).astype(np.float32)
    dec = LinearDecoder(target="envelope", alphas=[1.0], tmax=0.1, sfreq=64.0).fit(X, y)
    gan = EEG2MusicGAN(preset="tiny", max_epochs=1, warmup_epochs=0, batch_size=6, verbose=0)
    gan.set_params(random_state=0, crop_seconds=None).fit(X, y)
    return {"LinearDecoder": dec, "EEG2MusicGAN": gan}


@pytest.mark.parametrize("name", ["LinearDecoder", "EEG2MusicGAN"])
@FUZZ
@given(X=arrays(eeg_shapes(max_side=4, max_times=40)))
def test_estimators_predict(fitted, name, X):
    check_outcome(fitted[name].predict, X)


@FUZZ
@given(
    X=arrays(eeg_shapes(max_side=4, max_times=24)),
    y=arrays(st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 24, 48, 96, 100]))),
)
def test_linear_decoder_fit(X, y):
    dec = LinearDecoder(target="envelope", alphas=[1.0], tmax=0.05, sfreq=64.0)
    if check_outcome(dec.fit, X, y) is not None:
        check_outcome(dec.predict, X)


@FUZZ
@given(
    X=arrays(eeg_shapes(max_side=3, max_times=16)),
    y=arrays(st.tuples(st.integers(0, 4), st.sampled_from([0, 1, 16, 128, 100]))),
)
def test_gan_fit_validation(X, y):
    # max_epochs=0 validates and builds the networks without training.
    gan = EEG2MusicGAN(preset="tiny", max_epochs=0, verbose=0, random_state=0)
    check_outcome(gan.fit, X, y)


# Regressions found by the fuzzers above.
def test_alignment_of_subnormal_eeg_is_refused():
    X = np.random.default_rng(0).standard_normal((4, 3, 40)).astype(np.float32) * 1e-42
    with pytest.raises(ValueError, match="too small to whiten"):
        EuclideanAlignment().fit_transform(X)


def test_metrics_refuse_amplitudes_that_overflow_float32_spectra():
    y = np.random.default_rng(0).standard_normal((2, 800)).astype(np.float32)
    for metric in (metrics.log_spectral_distance, metrics.si_sdr):
        with pytest.raises(ValueError, match="Scale the waveforms"):
            metric(y, y * 1e30, sfreq=8000.0)


# The same properties on fixed edge cases, so that every run covers them
# whatever the random draws above.
def _edge_eeg():
    X = np.random.default_rng(0).standard_normal((4, 3, 40))
    nan, inf = X.copy(), X.copy()
    nan[1, 2, 3], inf[0, 0, 0] = np.nan, -np.inf
    with np.errstate(over="ignore"):
        f16 = (X * 1e5).astype(np.float16)
    return {
        "nan": nan,
        "inf": inf,
        "huge": (X * 1e37).astype(np.float32),
        "subnormal": (X * 1e-42).astype(np.float32),
        "constant": np.ones_like(X),
        "zeros": np.zeros_like(X),
        "int16": (X * 100).astype(np.int16),
        "bool": X > 0,
        "complex": X.astype(np.complex64),
        "float16-overflow": f16,
        "no-trials": X[:0],
        "no-channels": X[:, :0],
        "no-times": X[:, :, :0],
        "1-D": X[0, 0],
        "4-D": X[None],
    }


EDGE_EEG = _edge_eeg()


@pytest.mark.parametrize("case", list(EDGE_EEG))
@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_transformers_on_edge_cases(transformer, case):
    from sklearn.base import clone

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_outcome(clone(transformer).fit_transform, EDGE_EEG[case])


@pytest.mark.parametrize("case", list(EDGE_EEG))
@pytest.mark.parametrize("name", ["LinearDecoder", "EEG2MusicGAN"])
def test_estimators_predict_on_edge_cases(fitted, name, case):
    check_outcome(fitted[name].predict, EDGE_EEG[case])


@pytest.mark.parametrize("case", ["nan", "inf", "huge", "subnormal", "zeros", "no-times"])
@pytest.mark.parametrize("metric", METRICS, ids=lambda f: f.__name__)
def test_metrics_on_edge_cases(metric, case):
    y = np.random.default_rng(1).standard_normal((3, 800)).astype(np.float32)
    edge = EDGE_EEG[case][:3, 0]
    edge = np.resize(edge, (3, 800)) if edge.size else edge
    check_outcome(metric, y, edge, sfreq=8000.0)
    check_outcome(metric, edge, y, sfreq=8000.0)


def test_origin_check_tells_package_errors_from_numpy():
    """The check above refuses numpy's own ValueErrors and accepts the package's."""
    for numpy_error in (lambda: np.zeros(3).reshape(2), lambda: np.max(np.array([]))):
        with pytest.raises(ValueError) as info:
            numpy_error()
        assert not raised_by_validation(info.value)[0]
    X = np.zeros((2, 3, 8), dtype=np.float32)
    with pytest.raises(ValueError) as info:
        LinearDecoder(target="pitch").fit(X, np.zeros((2, 64)))
    own, where = raised_by_validation(info.value)
    assert own and where.startswith("sklearn.utils._param_validation")
    with pytest.raises(ValueError) as info:  # y of another length than the EEG's
        LinearDecoder(sfreq=64.0).fit(X, np.zeros((3, 64)))
    own, where = raised_by_validation(info.value)
    assert own and where.startswith("sk_eeg2music"), where
