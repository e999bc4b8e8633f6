"""Euclidean Alignment: per-subject whitening that cannot leak across subjects."""

import pickle

import numpy as np
import pytest
from scipy.linalg import fractional_matrix_power

from sk_eeg2music.preprocessing import EuclideanAlignment
from sk_eeg2music.preprocessing._alignment import align, inv_sqrtm, mean_covariance


def _subjects(make_eeg, n_subjects=3, n_trials=5, n_channels=6, n_times=100):
    """EEG of several subjects, each with its own mixing and scale."""
    X = np.concatenate(
        [make_eeg(n_trials, n_channels, n_times, seed=s) * 10.0**s for s in range(n_subjects)]
    )
    groups = np.repeat([f"sub-{s}" for s in range(n_subjects)], n_trials)
    return X, groups


def _mean_cov(X):
    return np.mean([x.astype(np.float64) @ x.T.astype(np.float64) for x in X], 0) / X.shape[2]


def test_mean_covariance_is_the_mean_of_trial_outer_products(make_eeg):
    X = make_eeg(n_trials=7, n_channels=5, n_times=80)
    np.testing.assert_allclose(mean_covariance(X), _mean_cov(X), rtol=1e-5)


def test_inv_sqrtm_without_shrinkage_is_the_matrix_power(make_eeg):
    C = _mean_cov(make_eeg(n_trials=4, n_channels=5, n_times=200))
    W = inv_sqrtm(C, reg=0.0)
    np.testing.assert_allclose(W, W.T)
    np.testing.assert_allclose(W @ C @ W, np.eye(5), atol=1e-8)
    np.testing.assert_allclose(W, fractional_matrix_power(C, -0.5).real, rtol=1e-6)


def test_each_subject_gets_identity_mean_covariance(make_eeg):
    X, groups = _subjects(make_eeg)
    Xa = EuclideanAlignment(reg=0.0).fit_transform(X, groups=groups)
    for g in np.unique(groups):
        np.testing.assert_allclose(_mean_cov(Xa[groups == g]), np.eye(6), atol=1e-4)


def test_default_shrinkage_whitens_well_conditioned_data_almost_exactly():
    rng = np.random.default_rng(0)
    # Channel variances between 1 and 10: the shrinkage moves eigenvalues by < 1%.
    basis, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    mixing = basis * np.sqrt(np.linspace(1.0, 10.0, 6))
    X = np.einsum("ij,tjn->tin", mixing, rng.standard_normal((10, 6, 500))).astype(np.float32)
    Xa = EuclideanAlignment().fit_transform(X)
    np.testing.assert_allclose(np.linalg.eigvalsh(_mean_cov(Xa)), 1.0, atol=0.01)


def test_rank_deficient_data_is_aligned_without_blowing_up(make_eeg):
    X = make_eeg(n_trials=8, n_channels=8, n_times=200) * 1e-5  # volts
    X[:, 7] = (X[:, 5] + X[:, 6]) / 2  # an interpolated channel
    X = X - X.mean(axis=1, keepdims=True)  # average reference: rank 8 - 2 = 6
    with pytest.raises(ValueError, match="reg > 0"):
        EuclideanAlignment(reg=0.0).fit_transform(X)
    Xa = EuclideanAlignment().fit_transform(X)
    assert np.isfinite(Xa).all()
    eig = np.linalg.eigvalsh(_mean_cov(Xa))
    # The 6 directions with variance are whitened; the 2 empty ones stay empty.
    np.testing.assert_allclose(eig[:2], 0.0, atol=1e-3)
    np.testing.assert_allclose(eig[2:], 1.0, atol=0.05)
    assert np.abs(Xa).max() < 10


def test_test_subject_is_aligned_with_its_own_eeg_only(make_eeg):
    X, groups = _subjects(make_eeg, n_subjects=4)
    train, test = np.isin(groups, ["sub-0", "sub-1"]), groups == "sub-3"
    other_train = np.isin(groups, ["sub-1", "sub-2"])
    ea_a = EuclideanAlignment().fit(X[train], groups=groups[train])
    ea_b = EuclideanAlignment().fit(X[other_train] * 3.0, groups=groups[other_train])
    out_a = ea_a.transform(X[test], groups=groups[test])
    out_b = ea_b.transform(X[test], groups=groups[test])
    np.testing.assert_array_equal(out_a, out_b)  # whatever the training subjects
    np.testing.assert_allclose(out_a, align(X[test]), rtol=1e-6)  # = its own R̄ alone


def test_test_subject_output_does_not_depend_on_its_batch_mates(make_eeg):
    X, groups = _subjects(make_eeg, n_subjects=3)
    ea = EuclideanAlignment().fit(X, groups=groups)
    is_s1 = groups == "sub-1"
    alone = ea.transform(X[is_s1], groups=groups[is_s1])
    order = np.random.default_rng(0).permutation(len(X))  # shuffled, mixed with others
    shuffled = ea.transform(X[order], groups=groups[order])
    restored = np.empty_like(shuffled)
    restored[order] = shuffled
    np.testing.assert_allclose(restored[is_s1], alone, rtol=1e-5, atol=1e-6)
    mates_changed = X.copy()
    mates_changed[~is_s1] *= -5.0
    np.testing.assert_allclose(ea.transform(mates_changed, groups=groups)[is_s1], alone, rtol=1e-5)


def test_transform_stores_nothing_from_the_test_subject(make_eeg):
    X, groups = _subjects(make_eeg, n_subjects=3)
    ea = EuclideanAlignment().fit(X[groups != "sub-2"], groups=groups[groups != "sub-2"])
    before = pickle.dumps(ea)
    ea.transform(X[groups == "sub-2"], groups=groups[groups == "sub-2"])
    assert pickle.dumps(ea) == before
    assert set(vars(ea)) == {"reg", "n_features_in_"}


def test_without_groups_the_batch_is_one_domain(make_eeg):
    X, groups = _subjects(make_eeg, n_subjects=2)
    pooled = EuclideanAlignment().fit_transform(X)
    np.testing.assert_array_equal(pooled, align(X, np.zeros(len(X))))
    per_subject = EuclideanAlignment().fit_transform(X, groups=groups)
    assert not np.allclose(pooled, per_subject)


def test_fit_transform_equals_fit_then_transform(make_eeg):
    X, groups = _subjects(make_eeg)
    ea = EuclideanAlignment()
    np.testing.assert_array_equal(
        ea.fit_transform(X, groups=groups), ea.fit(X, groups=groups).transform(X, groups=groups)
    )


def test_groups_must_match_the_trials(make_eeg):
    X, groups = _subjects(make_eeg)
    with pytest.raises(ValueError, match="one subject id per trial"):
        EuclideanAlignment().fit(X, groups=groups[:-1])
    with pytest.raises(ValueError, match="one subject id per trial"):
        EuclideanAlignment().transform(X, groups=groups[:, None])


def test_an_all_zero_subject_is_named_in_the_error(make_eeg):
    X, groups = _subjects(make_eeg)
    X[groups == "sub-1"] = 0.0
    with pytest.raises(ValueError, match="Group 'sub-1'.*all zeros"):
        EuclideanAlignment().fit_transform(X, groups=groups)


@pytest.mark.parametrize("reg", [-0.1, 1.0, np.nan, "auto", False])
def test_bad_reg_raises(reg, make_eeg):
    match = r"The 'reg' parameter of EuclideanAlignment must be a float in the range \[0.0, 1.0\)"
    with pytest.raises(ValueError, match=match):
        EuclideanAlignment(reg=reg).fit(make_eeg())
    with pytest.raises(ValueError, match=match):
        EuclideanAlignment(reg=reg).fit_transform(make_eeg())
