"""Statistics over folds, subjects and trials: intervals and paired tests.

Cross-subject scores are clustered by subject: trials of one subject share its
head, its noise and its alignment. Intervals therefore resample *subjects*
(:func:`subject_bootstrap`), or use a t interval over folds only when there are
enough folds for it to mean something (:func:`t_interval`: at least five; with
two folds ``t(0.975, 1) = 12.7`` makes every interval span most of the scale).
Model comparisons are paired on the same test trials: a Wilcoxon signed-rank
test for continuous scores such as correlations (:func:`paired_wilcoxon`), and
a sign-flip permutation test of the mean difference for hit rates such as
identification or match–mismatch (:func:`paired_permutation`), whose per-trial
values are 0, 1 or a tie credit (a constant prediction scores ``1 / n`` on
every trial, which a rank test would read as a shift). A family of comparisons
is Holm-corrected (:func:`holm`). Class guesses whose hits are shared by every
item of a class (the recordings of one of four songs) are tested by relabelling
the classes, not the items (:func:`label_permutation_p`).
"""

import itertools
import math

import numpy as np
import scipy.stats

#: Fewest folds for which :func:`t_interval` reports an interval.
MIN_T_FOLDS = 5


def t_interval(values, confidence=0.95, min_n=MIN_T_FOLDS):
    """Half-width of the two-sided t interval of the mean.

    Parameters
    ----------
    values : array-like, shape (n,)
        One value per fold; NaN values are dropped.
    confidence : float, default=0.95
        Two-sided level.
    min_n : int, default=5
        Fewer values than this give NaN: a t interval over two or three folds
        is too wide to resolve anything.

    Returns
    -------
    half_width : float
        ``t(0.5 + confidence / 2, n - 1) * std / sqrt(n)``, or NaN.

    Examples
    --------
    >>> from sk_eeg2music.stats import t_interval
    >>> round(t_interval([0.1, 0.2, 0.3, 0.2, 0.2]), 3)
    0.088
    >>> t_interval([0.1, 0.3])
    nan
    """
    vals = np.asarray(values, dtype=float)
    vals = vals[np.isfinite(vals)]
    if len(vals) < max(2, min_n):
        return float("nan")
    t = scipy.stats.t.ppf(0.5 + confidence / 2, len(vals) - 1)
    return float(t * vals.std(ddof=1) / np.sqrt(len(vals)))


def subject_bootstrap(values, subjects, *, n_boot=2000, confidence=0.95, random_state=0):
    """Mean and percentile interval from a bootstrap over subjects.

    Each replicate draws subjects with replacement and averages the values of
    all their trials, so trials of one subject move together.

    Parameters
    ----------
    values : array-like, shape (n_trials,)
        Per-trial (or per-fold) scores; NaN values are dropped.
    subjects : array-like, shape (n_trials,)
        Subject of each value.
    n_boot : int, default=2000
        Bootstrap replicates.
    confidence : float, default=0.95
        Two-sided level of the percentile interval.
    random_state : int | None, default=0
        Seed of the resampling.

    Returns
    -------
    mean : float
        Mean of the per-subject means.
    low, high : float
        Interval bounds; NaN with fewer than two subjects.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.stats import subject_bootstrap
    >>> values = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    >>> subjects = np.array(["a", "a", "b", "b", "c", "c"])
    >>> mean, low, high = subject_bootstrap(values, subjects)
    >>> round(mean, 2), low < mean < high
    (0.35, True)
    """
    vals = np.asarray(values, dtype=float)
    subj = np.asarray(subjects)
    if vals.shape != subj.shape or vals.ndim != 1:
        raise ValueError(
            f"values and subjects must be 1-D of one length, got {vals.shape} and {subj.shape}."
        )
    keep = np.isfinite(vals)
    _, codes = np.unique(subj[keep], return_inverse=True)
    n_subj = codes.max() + 1 if codes.size else 0
    if n_subj == 0:
        return float("nan"), float("nan"), float("nan")
    sums = np.bincount(codes, weights=vals[keep], minlength=n_subj)
    means = sums / np.bincount(codes, minlength=n_subj)
    if n_subj < 2:
        return float(means.mean()), float("nan"), float("nan")
    rng = np.random.default_rng(random_state)
    draws = rng.integers(0, n_subj, size=(n_boot, n_subj))
    boot = means[draws].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return float(means.mean()), float(low), float(high)


def _paired_differences(a, b):
    """Differences ``a - b`` of the pairs without NaN, and the p-value when they decide it.

    Parameters
    ----------
    a, b : array-like, shape (n_trials,)

    Returns
    -------
    diff : ndarray, shape (n_pairs,)
    p : float | None
        NaN with fewer than two pairs, 1.0 when every difference is zero
        (nothing to test), else ``None``: a test must decide.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need one shape, got {a.shape} and {b.shape}.")
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    if diff.size < 2:
        return diff, float("nan")
    if not np.any(diff):
        return diff, 1.0
    return diff, None


def paired_wilcoxon(a, b, alternative="greater"):
    """Wilcoxon signed-rank test of paired per-trial scores ``a`` against ``b``.

    Parameters
    ----------
    a, b : array-like, shape (n_trials,)
        Scores of two models on the same test trials; pairs with a NaN are
        dropped.
    alternative : {"greater", "two-sided", "less"}, default="greater"
        ``"greater"``: ``a`` scores higher than ``b``.

    Returns
    -------
    p : float
        The test's p-value; 1.0 when every difference is zero (nothing
        favours ``a``); NaN with fewer than two usable pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.stats import paired_wilcoxon
    >>> rng = np.random.default_rng(0)
    >>> b = rng.standard_normal(40)
    >>> paired_wilcoxon(b + 1.0, b) < 1e-6, paired_wilcoxon(b, b)
    (True, 1.0)
    """
    diff, p = _paired_differences(a, b)
    if p is not None:
        return p
    return float(scipy.stats.wilcoxon(diff, alternative=alternative).pvalue)


def paired_permutation(
    a, b, alternative="greater", n_permutations=9999, random_state=0, chunk=1000
):
    """Sign-flip permutation test of the mean paired difference ``a - b``.

    Under the null each trial's difference is as likely to have either sign;
    the p-value is the share of random sign flips whose mean difference is at
    least the observed one (with the observed one counted, so never 0).

    Parameters
    ----------
    a, b : array-like, shape (n_trials,)
        Scores of two models on the same test trials (e.g. per-trial hits with
        tie credits); pairs with a NaN are dropped.
    alternative : {"greater", "two-sided", "less"}, default="greater"
    n_permutations : int, default=9999
    random_state : int | None, default=0
    chunk : int, default=1000
        Permutations drawn at a time (bounds memory).

    Returns
    -------
    p : float
        1.0 when every difference is zero; NaN with fewer than two pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.stats import paired_permutation
    >>> hits = np.r_[np.ones(2), np.zeros(30)]  # 2 hits in 32 trials
    >>> ties = np.full(32, 1 / 16)              # a constant prediction: same mean
    >>> paired_permutation(ties, hits) > 0.3
    True
    >>> paired_permutation(np.ones(32), hits) < 0.001
    True
    """
    diff, p = _paired_differences(a, b)
    if p is not None:
        return p
    sign = {"greater": 1.0, "less": -1.0, "two-sided": None}[alternative]
    observed = diff.mean()
    rng = np.random.default_rng(random_state)
    tol = 1e-12 * max(1.0, abs(observed))
    count, done = 0, 0
    while done < n_permutations:
        k = min(chunk, n_permutations - done)
        null = (rng.choice((-1.0, 1.0), size=(k, diff.size)) * diff).mean(axis=1)
        if sign is None:
            count += int(np.sum(np.abs(null) >= abs(observed) - tol))
        else:
            count += int(np.sum(sign * null >= sign * observed - tol))
        done += k
    return float((count + 1) / (n_permutations + 1))


def label_permutation_p(true, guess, n_permutations=9999, random_state=0):
    """Accuracy of class guesses against relabelling the classes: the test that counts classes.

    When every item of one class shares what a model outputs for it (the
    recordings of one song share its evoked response), hits are not
    independent: a model that maps each song's EEG to a fixed but arbitrary
    output names all recordings of a song right or all wrong, so a binomial
    test over items, or a bootstrap over subjects, is anti-conservative with
    few classes. This test keeps the guesses and asks how often a relabelling
    of the classes (a permutation ``pi``, the same for every item) scores at
    least as well: the share of permutations with ``mean(pi(guess) == true)``
    at least the observed accuracy, the identity included. With ``k``
    classes the smallest possible p is ``1 / k!`` (0.042 for 4 songs).

    Parameters
    ----------
    true, guess : array-like, shape (n_items,)
        True and guessed class of each item (e.g. a recording's song); a
        guess outside the true classes is never a hit.
    n_permutations : int, default=9999
        Exact over all ``k!`` relabellings when ``k! <= n_permutations + 1``;
        otherwise this many random ones (plus the identity).
    random_state : int | None, default=0

    Returns
    -------
    p : float
        One-sided (accuracy higher than by relabelling); 1.0 when every
        relabelling scores the same (e.g. one guess for all items of
        balanced classes); NaN with no items or fewer than two classes.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.stats import label_permutation_p
    >>> true = np.repeat(["a", "b", "c", "d"], 10)
    >>> float(label_permutation_p(true, true))  # all right: 1 of 4! = 24 labellings
    0.041666666666666664
    >>> float(label_permutation_p(true, np.full(40, "a")))  # one guess for all
    1.0
    """
    true, guess = np.asarray(true).astype(str), np.asarray(guess).astype(str)
    if true.shape != guess.shape or true.ndim != 1:
        raise ValueError(
            f"true and guess must be 1-d of one length; got {true.shape} and {guess.shape}."
        )
    classes = np.unique(true)
    k = len(classes)
    if true.size == 0 or k < 2:
        return np.nan
    t = np.searchsorted(classes, true)
    g = np.searchsorted(classes, guess)
    known = (g < k) & (classes[np.minimum(g, k - 1)] == guess)
    # Hits under a relabelling depend on the items only through the confusion
    # counts, so memory is (n_relabellings, k) whatever the number of items;
    # a guess outside the classes is never a hit and is left out.
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (t[known], g[known]), 1)
    if math.factorial(k) <= n_permutations + 1:
        perms = np.array(list(itertools.permutations(range(k))))
    else:
        rng = np.random.default_rng(random_state)
        perms = np.vstack(
            [np.arange(k), rng.permuted(np.tile(np.arange(k), (n_permutations, 1)), axis=1)]
        )
    hits = counts[perms, np.arange(k)].sum(axis=1)  # relabelling guess j as perms[:, j]
    return float(np.mean(hits >= np.trace(counts)))


def holm(pvalues):
    """Holm–Bonferroni adjusted p-values (family-wise error control).

    Parameters
    ----------
    pvalues : array-like, shape (n_tests,)
        Raw p-values; NaN stays NaN and is not counted in the family.

    Returns
    -------
    adjusted : ndarray, shape (n_tests,)

    Examples
    --------
    >>> from sk_eeg2music.stats import holm
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out
