"""Reduced-rank lagged ridge: the strongest linear baseline."""

import librosa
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GroupKFold, cross_validate

from sk_eeg2music import LinearDecoder, ReducedRankDecoder
from sk_eeg2music.audio import log_mel_spectrogram
from sk_eeg2music.models._lagged_ridge import cv_alpha_scores, lag_samples
from sk_eeg2music.models.reduced_rank import reduced_rank_weights

SFREQ, FACTOR, N_MELS = 32.0, 64, 16  # audio at 2048 Hz: small, and every mel band filled


def test_reduced_rank_weights_recover_a_low_rank_map():
    rng = np.random.default_rng(0)
    n, p, k, rank = 200, 40, 12, 2
    F = rng.standard_normal((n, p))
    B = rng.standard_normal((p, rank)) @ rng.standard_normal((rank, k)) / np.sqrt(p)
    Y = F @ B + 1.0 * rng.standard_normal((n, k))
    G = F.T @ F
    W = np.linalg.solve(G + 1e-6 * np.eye(p), F.T @ Y)  # least squares
    W_r = reduced_rank_weights(W, G, Y.std(axis=0), [rank, k])
    np.testing.assert_allclose(W_r[1], W, atol=1e-10)  # full rank: unchanged
    assert np.linalg.matrix_rank(W_r[0]) == rank
    # Projecting on the fitted values' leading directions removes fitted noise.
    assert np.linalg.norm(W_r[0] - B) < 0.7 * np.linalg.norm(W - B)


def _low_rank_data(n_subjects=4, n_trials=3, n_times=64, rank=2, snr=1.0, seed=0):
    """Music whose log-mel bands move with ``rank`` latent signals, which the EEG carries.

    One tone per mel band, its log-amplitude a rank-``rank`` mix of white
    latent time courses; the EEG (16 channels) mixes the same time courses
    0.125 s later, plus noise. The backward map from lagged EEG to log-mel has
    rank ``rank`` in the band space.
    """
    rng = np.random.default_rng(seed)
    n = n_subjects * n_trials
    S = rng.standard_normal((n, rank, n_times))
    level = 0.5 * np.einsum("br,nrt->nbt", rng.standard_normal((N_MELS, rank)), S)
    freqs = librosa.mel_frequencies(N_MELS + 2, fmin=30.0, fmax=SFREQ * FACTOR / 2)[1:-1]
    t = np.arange(n_times * FACTOR) / (SFREQ * FACTOR)
    amp = np.exp(np.repeat(level, FACTOR, axis=2))
    y = np.einsum("nbt,bt->nt", amp, np.sin(2 * np.pi * freqs[:, None] * t)).astype(np.float32)
    L = log_mel_spectrogram(y, SFREQ * FACTOR, FACTOR, n_mels=N_MELS).astype(np.float64)
    delay = int(0.125 * SFREQ)
    S = np.concatenate([np.zeros((n, rank, delay)), S[:, :, :-delay]], axis=2)  # EEG follows
    X = np.einsum("cr,nrt->nct", rng.standard_normal((16, rank)), S)
    X = X + rng.standard_normal(X.shape) / snr
    groups = np.repeat(np.arange(n_subjects), n_trials)
    return X.astype(np.float32), y, groups, L


def _feature_r(F_true, F_pred):
    a = F_true - F_true.mean(-1, keepdims=True)
    b = F_pred - F_pred.mean(-1, keepdims=True)
    return float(np.mean((a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))))


def test_reduced_rank_beats_ridge_on_a_low_rank_map():
    X, y, groups, L = _low_rank_data()
    train, test = groups < 3, groups == 3
    kw = dict(tmin=-0.1, tmax=0.5, sfreq=SFREQ, n_mels=N_MELS, cv=3)
    rrr = ReducedRankDecoder(**kw).fit(X[train], y[train], groups=groups[train])
    ridge = LinearDecoder(target="mel", alpha_per_target=True, **kw)
    ridge.fit(X[train], y[train], groups=groups[train])
    assert rrr.rank_ == 2  # the map's rank (chosen in 4 of 4 seeds tried)
    np.testing.assert_array_equal(rrr.lags_, ridge.lags_)  # -0.1 .. 0.5 s, same sign
    r_rrr = _feature_r(L[test], rrr.predict_features(X[test]))
    r_ridge = _feature_r(L[test], ridge.predict_features(X[test]))
    # Seeds 0-3 gave 0.663 vs 0.645, 0.600 vs 0.591, 0.539 vs 0.531, 0.686 vs 0.648.
    assert r_rrr > r_ridge > 0.3


def test_alphas_are_per_band_and_chosen_by_grouped_inner_cv():
    X, y, groups, _ = _low_rank_data(n_subjects=3, n_trials=4)
    alphas = [0.01, 1.0, 100.0]
    dec = ReducedRankDecoder(sfreq=SFREQ, n_mels=N_MELS, alphas=alphas, rank=2, cv=3)
    dec.fit(X, y, groups=groups)
    assert dec.alpha_.shape == (N_MELS,) and dec.rank_ == 2 and dec.rank_scores_ is None
    # The scores are those of GroupKFold over the subjects given (no trial of a
    # validation subject in its training folds), and each band takes its best alpha.
    Y = log_mel_spectrogram(y, SFREQ * FACTOR, FACTOR, n_mels=N_MELS).astype(np.float64)
    splits = list(GroupKFold(3).split(X, groups=groups))
    lags = lag_samples(-0.1, 0.5, SFREQ)
    expected = cv_alpha_scores(X.astype(np.float64), Y, lags, np.array(alphas), splits)
    np.testing.assert_allclose(dec.alpha_scores_, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(dec.alpha_, np.asarray(alphas)[np.argmax(expected, axis=0)])
    # Other groups give other inner folds, hence other scores.
    other = ReducedRankDecoder(sfreq=SFREQ, n_mels=N_MELS, alphas=alphas, rank=2, cv=3)
    other.fit(X, y, groups=np.arange(len(X)) % 3)
    assert not np.allclose(other.alpha_scores_, dec.alpha_scores_)


def test_groups_reach_fit_through_metadata_routing():
    X, y, groups, _ = _low_rank_data(n_subjects=4, n_trials=2)
    with sklearn.config_context(enable_metadata_routing=True):
        dec = ReducedRankDecoder(
            sfreq=SFREQ, n_mels=N_MELS, alphas=[1.0, 10.0], rank=[1, 2], cv=2, n_iter=2
        ).set_fit_request(groups=True)
        res = cross_validate(
            dec, X, y, cv=GroupKFold(2), params={"groups": groups}, return_estimator=True
        )
    assert np.all(np.isfinite(res["test_score"]))
    assert all(est.rank_scores_.shape == (2,) for est in res["estimator"])


def test_predict_shapes_and_bad_input():
    X, y, _, _ = _low_rank_data(n_subjects=1, n_trials=4)
    dec = ReducedRankDecoder(sfreq=SFREQ, n_mels=N_MELS, alphas=[1.0], rank=3, n_iter=2)
    dec.fit(X, y)
    assert dec.coef_.shape == (N_MELS, 16, len(dec.lags_))
    assert np.linalg.matrix_rank(dec.coef_.reshape(N_MELS, -1)) == 3
    assert dec.predict_features(X[:2]).shape == (2, N_MELS, 64)
    assert dec.predict(X[:2]).shape == (2, 64 * FACTOR)
    with pytest.raises(ValueError, match="expecting 16 features"):
        dec.predict(X[:, :3])
    with pytest.raises(ValueError, match="Expected 3-D EEG"):
        dec.fit(X[:, 0], y)
    for bad in (N_MELS + 1, [1.5], [0]):
        with pytest.raises(ValueError, match="rank must be an integer .* between 1 and n_mels"):
            ReducedRankDecoder(sfreq=SFREQ, n_mels=N_MELS, rank=bad).fit(X, y)
    for name, bad in (("rank", 0), ("n_mels", 0), ("sfreq", -1.0), ("alphas", "big")):
        with pytest.raises(
            ValueError, match=f"The '{name}' parameter of ReducedRankDecoder must be"
        ):
            ReducedRankDecoder(**{"sfreq": SFREQ, "n_mels": N_MELS, name: bad}).fit(X, y)
    with pytest.raises(ValueError, match="alphas must be >= 0"):
        ReducedRankDecoder(sfreq=SFREQ, alphas=[-1.0]).fit(X, y)
    with pytest.raises(ValueError, match="longer than a trial"):
        ReducedRankDecoder(sfreq=SFREQ, tmax=5.0, alphas=[1.0]).fit(X, y)
    with pytest.raises(ValueError, match="audio_sfreq"):
        ReducedRankDecoder(sfreq=SFREQ, audio_sfreq=1000.0, alphas=[1.0]).fit(X, y)
    with pytest.raises(ValueError, match="groups must have shape"):
        ReducedRankDecoder(sfreq=SFREQ, n_mels=N_MELS).fit(X, y, groups=[0, 1])


def test_both_cv_passes_share_each_folds_eigendecomposition(monkeypatch):
    import sk_eeg2music.models._lagged_ridge as lr
    from sk_eeg2music.models.reduced_rank import fit_reduced_rank, rank_cv_scores

    rng = np.random.default_rng(3)
    X = rng.standard_normal((9, 3, 40))
    Y = rng.standard_normal((9, 4, 40)) + 0.5 * X[:, :1]
    lags, alphas, ranks = np.arange(-1, 4), np.logspace(-2, 2, 5), np.array([1, 2, 4])
    splits = list(GroupKFold(3).split(X, groups=np.arange(9) % 3))
    calls = []
    real = lr.ridge_eigh
    monkeypatch.setattr(lr, "ridge_eigh", lambda G: calls.append(1) or real(G))
    fit = fit_reduced_rank(X, Y, lags, alphas, ranks, splits)
    assert len(calls) == len(splits) + 1  # one per fold, one for the final fit
    # ... and the rank scores are those of independent per-fold fits.
    alpha = alphas[np.argmax(cv_alpha_scores(X, Y, lags, alphas, splits), axis=0)]
    np.testing.assert_array_equal(fit["alpha"], alpha)
    expected = rank_cv_scores(X, Y, lags, alpha, ranks, splits).mean(axis=1)
    np.testing.assert_allclose(fit["rank_scores"], expected, rtol=1e-10)
