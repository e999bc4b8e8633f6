"""Intervals and paired tests of sk_eeg2music.stats."""

import itertools

import numpy as np
import pytest
import scipy.stats

from sk_eeg2music.stats import (
    holm,
    label_permutation_p,
    paired_permutation,
    paired_wilcoxon,
    subject_bootstrap,
    t_interval,
)


def test_t_interval_matches_scipy_and_refuses_few_folds():
    vals = np.array([0.12, 0.08, 0.15, 0.11, 0.09, 0.13])
    low, high = scipy.stats.t.interval(
        0.95, len(vals) - 1, loc=vals.mean(), scale=scipy.stats.sem(vals)
    )
    assert t_interval(vals) == pytest.approx((high - low) / 2)
    assert np.isnan(t_interval(vals[:4]))
    assert not np.isnan(t_interval(vals[:4], min_n=2))


def test_subject_bootstrap_resamples_subjects_not_trials():
    # Two subjects: one with 100 trials at 1.0, one with 1 trial at 0.0. A
    # trial-level mean would be ~0.99; the subject-level mean is 0.5.
    values = np.r_[np.ones(100), 0.0]
    subjects = np.r_[np.zeros(100, int), 1]
    mean, low, high = subject_bootstrap(values, subjects, random_state=0)
    assert mean == pytest.approx(0.5)
    assert low == pytest.approx(0.0) and high == pytest.approx(1.0)


def test_subject_bootstrap_covers_the_truth_and_narrows_with_subjects():
    rng = np.random.default_rng(1)
    widths = []
    for n_subj in (5, 40):
        subj_effect = 0.1 + 0.05 * rng.standard_normal(n_subj)
        subjects = np.repeat(np.arange(n_subj), 20)
        values = subj_effect[subjects] + 0.2 * rng.standard_normal(subjects.size)
        mean, low, high = subject_bootstrap(values, subjects, random_state=0)
        assert low < mean < high
        widths.append(high - low)
    assert widths[1] < widths[0]


def test_subject_bootstrap_edge_cases():
    assert np.isnan(subject_bootstrap([0.3, 0.4], ["a", "a"])[1])
    assert subject_bootstrap([0.3, 0.4], ["a", "a"])[0] == pytest.approx(0.35)
    with pytest.raises(ValueError, match="one length"):
        subject_bootstrap([0.1, 0.2], ["a"])


def test_paired_wilcoxon_direction_and_degenerate_cases():
    rng = np.random.default_rng(0)
    b = rng.standard_normal(30)
    a = b + 0.5 + 0.1 * rng.standard_normal(30)
    assert paired_wilcoxon(a, b) < 1e-4
    assert paired_wilcoxon(b, a) > 0.99
    assert paired_wilcoxon(b, b) == 1.0
    assert np.isnan(paired_wilcoxon([1.0], [0.0]))
    with pytest.raises(ValueError, match="one shape"):
        paired_wilcoxon([1.0, 2.0], [1.0])


def test_holm_against_hand_computation():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    # sorted: 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    np.testing.assert_allclose(holm(p)[:3], [0.03, 0.06, 0.06])
    assert np.isnan(holm(p)[3])
    assert holm([0.9, 0.8]).max() <= 1.0


def test_paired_permutation_tests_the_mean_not_the_ranks():
    hits = np.r_[np.ones(2), np.zeros(30)]
    ties = np.full(32, 1 / 16)  # a constant prediction's tie credit: the same mean
    # A rank test reads the many small positive differences as a shift.
    assert paired_wilcoxon(ties, hits) < 1e-3
    assert paired_permutation(ties, hits) > 0.3
    assert paired_permutation(np.ones(32), hits) < 1e-3
    assert paired_permutation(hits, np.ones(32)) > 0.99
    assert paired_permutation(hits, hits) == 1.0
    assert np.isnan(paired_permutation([1.0], [0.0]))
    # Two-sided: a clear difference either way.
    assert paired_permutation(np.zeros(32), np.ones(32), alternative="two-sided") < 1e-3


def test_label_permutation_p_counts_classes_not_items():
    true = np.repeat(["a", "b", "c", "d"], 25)
    # All right: only the identity of the 4! = 24 relabellings does as well.
    assert label_permutation_p(true, true) == pytest.approx(1 / 24)
    # Whatever the number of items: 1000 recordings of 4 songs cannot go below 1 / 24 ...
    assert label_permutation_p(np.tile(true, 10), np.tile(true, 10)) == pytest.approx(1 / 24)
    # ... where a binomial test over items would (the anti-conservative count).
    assert scipy.stats.binomtest(100, 100, 0.25, alternative="greater").pvalue < 1e-50
    # One guess for every item of balanced classes: every relabelling scores 0.25.
    assert label_permutation_p(true, np.full(100, "b")) == 1.0
    # Each song mapped to a fixed wrong song (a model that separates songs but
    # names them arbitrarily): the relabelling that undoes it scores 1, so p is large.
    wrong = {"a": "b", "b": "c", "c": "d", "d": "a"}
    assert label_permutation_p(true, np.array([wrong[t] for t in true])) == 1.0
    # Guesses outside the classes are never hits, under any relabelling.
    assert label_permutation_p(true, np.full(100, "zzz")) == 1.0


def test_label_permutation_p_is_uniform_under_the_null_and_samples_many_classes():
    rng = np.random.default_rng(0)
    true = np.repeat(np.arange(4), 20).astype(str)
    # Arbitrary song-to-guess maps plus item noise: p below 0.05 at most ~5 % of the time.
    ps = []
    for _ in range(200):
        mapping = rng.permutation(4).astype(str)
        guess = mapping[true.astype(int)]
        flip = rng.random(80) < 0.3
        guess[flip] = rng.integers(0, 4, flip.sum()).astype(str)
        ps.append(label_permutation_p(true, guess))
    assert np.mean(np.array(ps) <= 0.05) <= 0.08
    # 10 classes (10! relabellings): random ones, the identity counted.
    true10 = np.repeat(np.arange(10), 3).astype(str)
    p = label_permutation_p(true10, true10, n_permutations=999)
    assert p == pytest.approx(1 / 1000)


def test_label_permutation_p_matches_its_definition_and_scales_to_many_items():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 5, 60).astype(str)
    guess = np.where(rng.random(60) < 0.5, true, rng.integers(0, 6, 60).astype(str))  # "5": unknown
    # By definition: the share of the 5! relabellings pi with mean(pi(guess) == true)
    # at least the observed accuracy (unknown guesses never hit).
    classes = np.unique(true)
    observed = np.mean(guess == true)
    accs = []
    for perm in itertools.permutations(classes):
        relabel = dict(zip(classes, perm))
        accs.append(np.mean([relabel.get(g, "none") == t for t, g in zip(true, guess)]))
    assert label_permutation_p(true, guess) == pytest.approx(np.mean(np.array(accs) >= observed))
    # 28 segments x 2,000 trials by Monte Carlo: the confusion counts, not the items, are permuted.
    seg = np.repeat(np.arange(28), 2000).astype(str)
    assert label_permutation_p(seg, seg, n_permutations=999) == pytest.approx(1 / 1000)


def test_label_permutation_p_bad_input():
    assert np.isnan(label_permutation_p([], []))
    assert np.isnan(label_permutation_p(["a", "a"], ["a", "b"]))  # one class
    with pytest.raises(ValueError, match="one length"):
        label_permutation_p(["a", "b"], ["a"])
