"""LinearDecoder: exact lagged algebra, agreement with MNE, honest alpha selection."""

import tracemalloc
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, cross_validate

from sk_eeg2music.audio import frame_envelope, log_mel_spectrogram
from sk_eeg2music.metrics import mel_correlation, permutation_p_value
from sk_eeg2music.model_selection import ShuffledPairs
from sk_eeg2music.models import LinearDecoder
from sk_eeg2music.models._lagged_ridge import (
    apply_lagged,
    cv_alpha_scores,
    fit_lagged_ridge,
    haufe_patterns,
    inner_splits,
    lag_samples,
    lagged_cross,
    lagged_gram,
    lagged_sums,
    ridge_path,
    ridge_solve,
)

SFREQ, FACTOR = 64.0, 125  # 8 kHz audio


def _explicit_design(X, lags):
    """The lagged design matrix built the slow, obvious way (zero outside trials)."""
    n_trials, n_ch, n_times = X.shape
    F = np.zeros((n_trials, n_times, n_ch, len(lags)))
    for j, lag in enumerate(lags):
        for t in range(n_times):
            if 0 <= t + lag < n_times:
                F[:, t, :, j] = X[:, :, t + lag]
    return F.reshape(n_trials * n_times, n_ch * len(lags))


@pytest.mark.parametrize(
    "lags", [np.arange(0, 5), np.arange(-3, 1), np.arange(-2, 3), np.arange(2, 6), np.array([0])]
)
def test_lagged_algebra_matches_explicit_design(lags):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3, 20))
    Y = rng.standard_normal((4, 2, 20))
    F = _explicit_design(X, lags)
    Yf = Y.transpose(0, 2, 1).reshape(-1, 2)
    np.testing.assert_allclose(lagged_gram(X, lags), F.T @ F, atol=1e-12)
    np.testing.assert_allclose(lagged_cross(X, Y, lags), F.T @ Yf, atol=1e-12)
    np.testing.assert_allclose(lagged_sums(X, lags), F.sum(axis=0), atol=1e-12)
    W = rng.standard_normal((2, 3, len(lags)))
    pred = apply_lagged(X, W, lags).transpose(0, 2, 1).reshape(-1, 2)
    np.testing.assert_allclose(pred, F @ W.reshape(2, -1).T, atol=1e-12)


def test_lagged_algebra_is_exact_when_trials_are_summed_in_blocks(monkeypatch):
    # Many trials: the cross-spectra are summed over blocks of trials (a few per block here).
    import sk_eeg2music.models._lagged_ridge as lr

    monkeypatch.setattr(lr, "_XCORR_BLOCK_BYTES", 16 * 11 * 5 * 3)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 3, 12)).astype(np.float32)  # float32 input is cast per block
    Y = rng.standard_normal((10, 2, 12))
    lags = np.arange(-2, 4)
    F = _explicit_design(X.astype(np.float64), lags)
    np.testing.assert_allclose(lagged_gram(X, lags), F.T @ F, atol=1e-10)
    Yf = Y.transpose(0, 2, 1).reshape(-1, 2)
    np.testing.assert_allclose(lagged_cross(X, Y, lags), F.T @ Yf, atol=1e-10)


def _peak_bytes(fn):
    """Peak bytes that numpy and Python allocate while ``fn()`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_lagged_solvers_make_no_whole_float64_copies_of_float32_eeg(monkeypatch):
    # At the real MOS scale one float64 copy of a fold's training EEG is 1.4 GB: the
    # Gram matrix casts piecewise (cross-spectra per block of trials, time-major copies of
    # the edge samples only) and centring allocates one float64 array, not two.
    import sk_eeg2music.models._lagged_ridge as lr

    monkeypatch.setattr(lr, "_XCORR_BLOCK_BYTES", 2**20)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 16, 512)).astype(np.float32)  # 9.4 MB; float64: 18.9 MB
    Y = rng.standard_normal((300, 4, 512)).astype(np.float32)
    lags = np.arange(-6, 33)  # the reduced-rank window, -0.1 to 0.5 s at 64 Hz
    G_bytes = 8 * (16 * len(lags)) ** 2
    # The Gram (and its block copy), plus less than half a float64 copy of X (the edge
    # windows and one block of trials); two whole copies before (45.7 MB here).
    assert _peak_bytes(lambda: lagged_gram(X, lags)) < 2 * G_bytes + X.nbytes
    # Fitting adds one centred float64 X and Y; the extra float64 copy of each that
    # came first is gone (50.6 MB here before, 35.4 MB now).
    peak = _peak_bytes(lambda: fit_lagged_ridge(X, Y, lags, [1.0]))
    assert peak < 2 * (X.nbytes + Y.nbytes) + 2 * G_bytes + X.nbytes
    # Same numbers as the float64 route.
    G32 = lagged_gram(X, lags)
    np.testing.assert_allclose(G32, lagged_gram(X.astype(np.float64), lags), rtol=1e-12)


@pytest.mark.parametrize("lags", [np.arange(-3, 9), np.arange(2, 12), np.arange(-11, -1)])
def test_lagged_algebra_is_exact_when_the_lag_window_exceeds_the_trial(lags):
    # Trials of 6 samples, lag windows of 10-12: pairs of lags share no sample.
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4, 2, 6))
    F = _explicit_design(X, lags)
    np.testing.assert_allclose(lagged_gram(X, lags), F.T @ F, atol=1e-10)


def test_cv_scores_equal_explicit_fold_predictions():
    """Inner CV from sufficient statistics == fit on train, predict test, pooled r."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 3, 30)) + 0.5
    Y = rng.standard_normal((6, 2, 30)) + X[:, :2] * 0.3
    lags, alphas = np.arange(-1, 4), np.logspace(-2, 2, 5)
    splits = [(np.arange(0, 4), np.arange(4, 6)), (np.arange(2, 6), np.arange(0, 2))]
    scores = cv_alpha_scores(X, Y, lags, alphas, splits)
    expected = np.zeros_like(scores)
    for train, test in splits:
        x_mean = X[train].mean(axis=(0, 2))
        y_mean = Y[train].mean(axis=(0, 2))
        Xtr, Ytr = X[train] - x_mean[:, None], Y[train] - y_mean[:, None]
        F_tr, F_te = _explicit_design(Xtr, lags), _explicit_design(X[test] - x_mean[:, None], lags)
        Y_tr = Ytr.transpose(0, 2, 1).reshape(-1, 2)
        Y_te = Y[test].transpose(0, 2, 1).reshape(-1, 2)
        scale = np.trace(F_tr.T @ F_tr) / F_tr.shape[1]
        for i, alpha in enumerate(alphas):
            pred = F_te @ Ridge(alpha * scale, fit_intercept=False).fit(F_tr, Y_tr).coef_.T
            expected[i] += [np.corrcoef(pred[:, k], Y_te[:, k])[0, 1] for k in range(2)]
    np.testing.assert_allclose(scores, expected / len(splits), rtol=1e-8)


def test_lags_never_cross_trials():
    """Each trial's decoded features depend on that trial's EEG only."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 2, 16))
    W = rng.standard_normal((1, 2, 5))
    lags = np.arange(-2, 3)
    alone = apply_lagged(X[1:2], W, lags)
    X_changed = X.copy()
    X_changed[[0, 2]] = 100.0
    np.testing.assert_allclose(apply_lagged(X_changed, W, lags)[1:2], alone)


def test_ridge_path_matches_single_solves():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((200, 12))
    G, B = F.T @ F, F.T @ rng.standard_normal((200, 3))
    alphas = np.logspace(-3, 3, 11)
    path = ridge_path(G, B, alphas)
    assert path.shape == (11, 12, 3)
    scale = np.trace(G) / len(G)
    for alpha, W in zip(alphas, path):
        np.testing.assert_allclose(W, ridge_solve(G, B, alpha), rtol=1e-8)
        ref = Ridge(alpha * scale, fit_intercept=False).fit(F, F @ np.linalg.solve(G, B)).coef_
        np.testing.assert_allclose(W, ref.T, rtol=1e-6)
    # Per-target alphas: column k uses alphas[k].
    per_target = ridge_path(G, B, [alphas[[0, 5, 10]]])[0]
    for k, i in enumerate((0, 5, 10)):
        np.testing.assert_allclose(per_target[:, k], path[i][:, k])


def _toy_trials(n_trials=6, n_ch=5, n_times=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_trials, n_ch, n_times)).astype(np.float32) + 0.3
    y = rng.standard_normal((n_trials, n_times * FACTOR)).astype(np.float32)
    return X, y


@pytest.mark.parametrize("target", ["envelope", "mel"])
def test_coefficients_match_mne_receptive_field(target):
    """Same data, lags and alpha as mne.decoding.ReceptiveField (backward model)."""
    from mne.decoding import ReceptiveField

    X, y = _toy_trials()
    dec = LinearDecoder(
        target, tmin=0.0, tmax=0.1, sfreq=SFREQ, alphas=[0.5], fit_intercept=False, n_mels=8
    ).fit(X, y)
    if target == "mel":
        Y = log_mel_spectrogram(y, SFREQ * FACTOR, FACTOR, n_mels=8)
    else:
        Y = frame_envelope(y, FACTOR)[:, np.newaxis]
    # MNE: time-first layout, and the EEG *following* the stimulus is a negative delay.
    rf = ReceptiveField(
        tmin=-0.1,
        tmax=0.0,
        sfreq=SFREQ,
        estimator=Ridge(alpha=0.5 * dec.alpha_scale_, fit_intercept=False),
        fit_intercept=False,
    )
    rf.fit(X.transpose(2, 0, 1).astype(np.float64), Y.transpose(2, 0, 1).astype(np.float64))
    theirs = rf.coef_.reshape(dec.coef_.shape)[..., ::-1]  # MNE orders delays -0.1 .. 0
    np.testing.assert_allclose(dec.coef_, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())
    np.testing.assert_array_equal(dec.lags_, -rf.delays_[::-1])


def test_intercept_matches_ridge_on_centred_padded_design():
    """fit_intercept=True: channel means removed before zero-padding (as MNE's
    TimeDelayingRidge does), target mean as intercept."""
    X, y = _toy_trials(seed=1)
    dec = LinearDecoder("envelope", tmin=-0.05, tmax=0.1, sfreq=SFREQ, alphas=[2.0]).fit(X, y)
    Y = frame_envelope(y, FACTOR).astype(np.float64)
    Xc = X - X.mean(axis=(0, 2), keepdims=True, dtype=np.float64)
    F = _explicit_design(Xc, dec.lags_)
    ref = Ridge(2.0 * dec.alpha_scale_, fit_intercept=False).fit(F, Y.ravel() - Y.mean())
    np.testing.assert_allclose(dec.coef_.ravel(), ref.coef_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(dec.intercept_, [Y.mean()], rtol=1e-6)
    feats = dec.predict_features(X)
    np.testing.assert_allclose(feats[:, 0].ravel(), F @ ref.coef_ + Y.mean(), rtol=1e-5)


@pytest.mark.slow
def test_intercept_matches_mne_time_delaying_ridge():
    """Against MNE's own intercept handling (TimeDelayingRidge; numba JIT is slow)."""
    from mne.decoding import ReceptiveField

    X, y = _toy_trials(seed=2)
    dec = LinearDecoder("envelope", tmin=0.0, tmax=0.1, sfreq=SFREQ, alphas=[0.5]).fit(X, y)
    Y = frame_envelope(y, FACTOR)[:, np.newaxis]
    rf = ReceptiveField(-0.1, 0.0, SFREQ, estimator=0.5 * dec.alpha_scale_, fit_intercept=True)
    rf.fit(X.transpose(2, 0, 1).astype(np.float64), Y.transpose(2, 0, 1).astype(np.float64))
    np.testing.assert_allclose(dec.coef_, rf.coef_.reshape(dec.coef_.shape)[..., ::-1], rtol=1e-5)


def test_recovers_known_lag_and_sign():
    """EEG channel 0 echoes the envelope 8 samples (125 ms) later: the decoder's
    weight peaks at lag +8 on that channel."""
    delay = 8
    X, audio, _ = _echo_data(delay)
    dec = LinearDecoder("envelope", tmin=0.0, tmax=0.25, sfreq=SFREQ, alphas=[1e-3]).fit(X, audio)
    assert dec.lags_[np.argmax(np.abs(dec.coef_[0, 0]))] == delay
    assert dec.coef_[0, 0, dec.lags_ == delay] > 0
    assert np.argmax(np.abs(dec.patterns_[0]).max(axis=1)) == 0


def test_haufe_patterns_are_covariance_with_decoded_signal():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3, 40))
    X[:, 1] += X[:, 0]  # correlated channels make weights differ from patterns
    lags = np.arange(0, 3)
    coef = rng.standard_normal((2, 3, 3))
    pat = haufe_patterns(lagged_gram(X, lags), coef, X.shape[0] * X.shape[2])
    F = _explicit_design(X, lags)
    for k in range(2):
        s = F @ coef[k].ravel()
        expected = (F.T @ s) / (len(F) - 1) / (s @ s / (len(F) - 1))
        np.testing.assert_allclose(pat[k].ravel(), expected, rtol=1e-10)


def test_patterns_plot_with_mne(simulated):
    import matplotlib

    matplotlib.use("Agg")
    import mne

    data = simulated(snr_db=-10.0, conditions=("listening",))
    picks = np.arange(0, data.X.shape[1], 4)  # 16 channels keep the test fast
    dec = LinearDecoder("envelope", sfreq=data.sfreq, alphas=[10.0]).fit(data.X[:, picks], data.y)
    assert dec.patterns_.shape == dec.coef_.shape == (1, len(picks), len(dec.lags_))
    peak = np.argmax(np.abs(dec.patterns_[0]).max(axis=0))
    info = mne.pick_info(data.info, picks)
    pattern = dec.patterns_[0, :, peak]
    im, _ = mne.viz.plot_topomap(pattern, info, show=False)
    # MNE drew this pattern: a symmetric colour scale at its largest magnitude and a
    # map interpolated from it (the sensors' values span the image's range).
    extent = np.abs(pattern).max()
    np.testing.assert_allclose(im.get_clim(), (-extent, extent), rtol=1e-6)
    image = np.ma.masked_invalid(im.get_array())
    assert image.min() < 0.5 * pattern.min() and image.max() > 0.5 * pattern.max()
    matplotlib.pyplot.close("all")


def test_inner_splits_keep_trials_and_subjects_whole():
    groups = np.repeat(["a", "b", "c", "d"], 3)
    for train, test in inner_splits(5, len(groups), groups):
        assert not set(groups[train]) & set(groups[test])
    splits = inner_splits(3, 7)
    tested = np.concatenate([test for _, test in splits])
    np.testing.assert_array_equal(np.sort(tested), np.arange(7))
    for _, test in splits:  # contiguous blocks of whole trials
        np.testing.assert_array_equal(test, np.arange(test[0], test[-1] + 1))
    assert len(inner_splits(GroupKFold(2), 12, groups)) == 2
    with pytest.raises(ValueError, match="at least 2 trials"):
        inner_splits(5, 1)


def test_alpha_selection_uses_groups_through_routing():
    X, y = _toy_trials(n_trials=8)
    groups = np.repeat(["s1", "s2", "s3", "s4"], 2)
    dec = LinearDecoder("envelope", sfreq=SFREQ, tmax=0.05, alphas=[0.1, 1.0, 10.0], cv=4)
    direct = clone(dec).fit(X, y, groups=groups)
    assert direct.cv_scores_.shape == (3, 1)
    assert direct.alpha_ in (0.1, 1.0, 10.0)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = clone(dec).set_fit_request(groups=True)
        res = cross_validate(
            routed,
            X,
            y,
            cv=GroupKFold(2),
            params={"groups": groups},
            return_estimator=True,
            return_indices=True,
        )
    for est, train in zip(res["estimator"], res["indices"]["train"]):
        ref = clone(dec).fit(X[train], y[train], groups=groups[train])
        np.testing.assert_allclose(est.cv_scores_, ref.cv_scores_)


def test_per_target_alpha():
    X, y = _toy_trials(n_trials=6)
    dec = LinearDecoder(
        "mel", sfreq=SFREQ, tmax=0.05, n_mels=4, alphas=[0.01, 1.0, 100.0], alpha_per_target=True
    ).fit(X, y)
    assert dec.alpha_.shape == (4,)
    np.testing.assert_array_equal(dec.alpha_, dec.alphas_[np.argmax(dec.cv_scores_, axis=0)])


@pytest.mark.parametrize("target", ["envelope", "mel"])
def test_predict_shapes_and_batch_independence(target):
    X, y = _toy_trials(n_trials=4, n_times=64)
    dec = LinearDecoder(target, sfreq=SFREQ, alphas=[1.0], n_mels=8, n_iter=4).fit(X, y)
    feats = dec.predict_features(X)
    assert feats.shape == (4, 8 if target == "mel" else 1, 64)
    wave = dec.predict(X)
    assert wave.shape == y.shape and np.all(np.isfinite(wave))
    np.testing.assert_allclose(dec.predict(X[2:3]), wave[2:3], atol=1e-6)
    # score is the band-wise log-mel correlation of these waveforms with y.
    score = dec.score(X, y)
    assert isinstance(score, float)
    assert score == pytest.approx(mel_correlation(y, wave, sfreq=dec.audio_sfreq_), abs=1e-6)


def test_waveforms_carry_the_decoded_features():
    """The waveform of a decoded feature re-analyses to (nearly) that feature."""
    rng = np.random.default_rng(0)
    X, y = _toy_trials(n_trials=4, n_times=64)
    t = np.arange(y.shape[1]) / (SFREQ * FACTOR)
    y = (y * (1.2 + np.sin(2 * np.pi * rng.uniform(1, 3, (4, 1)) * t))).astype(np.float32)
    for target in ("envelope", "mel"):
        dec = LinearDecoder(target, sfreq=SFREQ, alphas=[1e-3], tmax=0.2).fit(X, y)
        feats = dec.predict_features(X)
        again = dec._targets(dec.predict(X).astype(np.float32), dec.audio_sfreq_, FACTOR)
        centred = [a - a.mean(-1, keepdims=True) for a in (feats, again)]
        r = np.sum(centred[0] * centred[1], -1) / np.sqrt(
            np.sum(centred[0] ** 2, -1) * np.sum(centred[1] ** 2, -1)
        )
        assert np.median(r) > 0.5, (target, np.median(r))


def test_2d_eeg_is_refused_with_a_reshape_hint():
    """Single-channel trials (n_trials, n_times) were fitted as n_times channels."""
    X, y = _toy_trials(n_trials=4, n_ch=1, n_times=64)
    dec = LinearDecoder("envelope", sfreq=SFREQ, alphas=[1.0], tmax=0.1)
    with pytest.raises(ValueError, match=r"Expected 3-D EEG.*\(4, 64\).*X\[:, np.newaxis, :\]"):
        dec.fit(X[:, 0], y)
    dec.fit(X, y)  # the hint's reshape is what works
    with pytest.raises(ValueError, match="Expected 3-D EEG"):
        dec.predict(X[:, 0])


def _echo_data(delay=8, n_trials=8, n_times=192, seed=0):
    """EEG channel 0 echoes the music's envelope ``delay`` samples later."""
    rng = np.random.default_rng(seed)
    env = np.abs(rng.standard_normal((n_trials, n_times))) + 0.1
    audio = np.repeat(env, FACTOR, axis=1) * np.sign(rng.standard_normal((1, n_times * FACTOR)))
    target = frame_envelope(audio.astype(np.float32), FACTOR)
    X = 0.1 * rng.standard_normal((n_trials, 4, n_times))
    X[:, 0, delay:] += target[:, :-delay]
    return X, audio.astype(np.float32), target


def test_mne_sign_convention_warns_and_names_the_fix():
    """MNE's backward window (tmin=-0.25, tmax=0) decodes from EEG that precedes the
    music here: it warns with the window to use, which recovers the echo."""
    X, y, target = _echo_data()
    kwargs = dict(target="envelope", envelope_power=0.5, sfreq=SFREQ, alphas=[1e-3])
    train, test = slice(0, 6), slice(6, None)
    with pytest.warns(UserWarning, match=r"ReceptiveField.*tmin=0\.0, tmax=0\.25") as record:
        mne_style = LinearDecoder(tmin=-0.25, tmax=0.0, **kwargs).fit(X[train], y[train])
    assert record[0].filename == __file__  # points at the user's call
    fixed = LinearDecoder(tmin=0.0, tmax=0.25, **kwargs).fit(X[train], y[train])

    def r(dec):  # on held-out trials
        return np.corrcoef(dec.predict_features(X[test])[:, 0].ravel(), target[test].ravel())[0, 1]

    assert abs(r(mne_style)) < 0.3 < 0.9 < r(fixed), (r(mne_style), r(fixed))


@pytest.mark.parametrize("tmin, tmax", [(0.0, 0.25), (-0.05, 0.1), (0.0, 0.0), (0.1, 0.2)])
def test_windows_with_a_positive_lag_or_only_zero_do_not_warn(tmin, tmax):
    X, y, _ = _echo_data(n_trials=4, n_times=64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearDecoder("envelope", tmin=tmin, tmax=tmax, sfreq=SFREQ, alphas=[1.0]).fit(X, y)


def test_decodes_simulated_music_above_shuffled_control(simulated):
    data = simulated(snr_db=-10.0, conditions=("listening",))
    data.X = data.X[:, ::4]  # 16 of 64 channels keep the test fast
    subjects = np.unique(data.subject)
    train = (data.subject != subjects[-1]) & (data.segment < 4)
    test = (data.subject == subjects[-1]) & (data.segment >= 4)
    dec = LinearDecoder("envelope", sfreq=data.sfreq)
    real = clone(dec).fit(data.X[train], data.y[train], groups=data.subject[train])
    null = ShuffledPairs(clone(dec), random_state=0).fit(
        data.X[train], data.y[train], groups=data.subject[train]
    )
    y_test = data.y[test]
    pred_real, pred_null = real.predict(data.X[test]), null.predict(data.X[test])
    r_real = mel_correlation(y_test, pred_real, sfreq=data.audio_sfreq)
    r_null = mel_correlation(y_test, pred_null, sfreq=data.audio_sfreq)
    assert r_real > r_null
    assert permutation_p_value(y_test, pred_real, data.audio_sfreq, random_state=0) < 0.05


def test_bad_input():
    X, y = _toy_trials(n_trials=4, n_times=32)
    with pytest.raises(ValueError, match="tmin must be <= tmax"):
        LinearDecoder(tmin=0.2, tmax=0.1).fit(X, y)
    with pytest.raises(ValueError, match="longer than a trial"):
        LinearDecoder(tmin=0.0, tmax=1.0, sfreq=SFREQ).fit(X, y)
    with pytest.raises(ValueError, match="not n_times x an integer"):
        LinearDecoder(sfreq=SFREQ).fit(X, y[:, :-3])
    with pytest.raises(ValueError, match="different numbers of trials"):
        LinearDecoder(sfreq=SFREQ).fit(X, y[:-1])
    with pytest.raises(ValueError, match="audio_sfreq"):
        LinearDecoder(sfreq=SFREQ, audio_sfreq=16000).fit(X, y)
    with pytest.raises(ValueError, match="The 'sfreq' parameter of LinearDecoder must be"):
        LinearDecoder(sfreq=0).fit(X, y)
    with pytest.raises(ValueError, match="The 'target' parameter of LinearDecoder must be"):
        LinearDecoder(target="pitch").fit(X, y)
    with pytest.raises(ValueError, match="alphas must be >= 0"):
        LinearDecoder(alphas=[-1.0]).fit(X, y)
    with pytest.raises(ValueError, match="The 'alphas' parameter of LinearDecoder must be"):
        LinearDecoder(alphas=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="alphas must be a non-empty 1-D list"):
        LinearDecoder(alphas=[]).fit(X, y)
    with pytest.raises(ValueError, match="The 'envelope_power' parameter of LinearDecoder"):
        LinearDecoder(envelope_power=0).fit(X, y)
    with pytest.raises(ValueError, match="The 'carrier' parameter of LinearDecoder must be"):
        LinearDecoder(carrier="brown").fit(X, y)
    with pytest.raises(ValueError, match="groups"):
        LinearDecoder(sfreq=SFREQ).fit(X, y, groups=["a"])
    dec = LinearDecoder(sfreq=SFREQ, alphas=[1.0], target="envelope").fit(X, y)
    with pytest.raises(ValueError, match="expecting 5 features"):
        dec.predict(X[:, :3])
    assert lag_samples(0.0, 0.25, 64.0).tolist() == list(range(17))


def test_refit_on_other_channels_resets_n_features_in():
    X, y = _toy_trials(n_trials=4, n_times=32)
    dec = LinearDecoder(sfreq=SFREQ, alphas=[1.0], target="envelope").fit(X, y)
    assert dec.n_features_in_ == X.shape[1]
    dec.fit(X[:, :2], y)  # a new fit forgets the old channels
    assert dec.n_features_in_ == 2 and dec.coef_.shape[1] == 2
    assert dec.predict_features(X[:, :2]).shape == (4, 1, 32)


@pytest.mark.parametrize("name", ["sfreq", "n_mels", "tmax"])
def test_booleans_are_not_numbers(name):
    # scikit-learn's Interval alone would take True for 1.
    X, y = _toy_trials(n_trials=4, n_times=32)
    with pytest.raises(ValueError, match=f"The '{name}' parameter of LinearDecoder must be"):
        LinearDecoder(**{name: True}).fit(X, y)
