"""Significance of accuracies against chance."""

import numpy as np
import scipy.stats

from ._common import _N_MELS
from ._identification import similarity_matrix


def binomial_p_value(accuracy, n_trials, chance):
    """One-sided binomial p-value of an identification accuracy against chance.

    Assumes independent trials. Trials that share a subject or a segment are
    not independent, so treat the result as optimistic and prefer
    :func:`permutation_p_value` or a p-value over subjects.

    Parameters
    ----------
    accuracy : float
        Observed accuracy in [0, 1].
    n_trials : int
        Number of identification trials.
    chance : float
        Chance level in (0, 1), e.g. :func:`identification_chance`.

    Returns
    -------
    p : float

    Examples
    --------
    >>> from sk_eeg2music.metrics import binomial_p_value
    >>> round(binomial_p_value(0.5, n_trials=20, chance=0.25), 4)
    0.0139
    """
    n_trials = int(n_trials)
    if n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer; got {n_trials}.")
    if not 0 <= accuracy <= 1 or not 0 < chance < 1:
        raise ValueError(
            f"accuracy must be in [0, 1] and chance in (0, 1); got {accuracy} and {chance}."
        )
    k = int(round(accuracy * n_trials))
    return float(scipy.stats.binomtest(k, n_trials, chance, alternative="greater").pvalue)


def permutation_p_value(
    y_true,
    y_pred,
    sfreq,
    n_permutations=1000,
    random_state=None,
    n_mels=_N_MELS,
    hop_length=None,
    return_null=False,
    trim_seconds=None,
):
    """Permutation p-value of :func:`mel_correlation` against mispaired trials.

    The null distribution is the mean band-wise log-mel correlation when each
    reconstruction is compared with the true audio of a randomly permuted
    trial; the similarity matrix is computed once, so 1000 permutations are
    cheap.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
    n_permutations : int, default=1000
    random_state : int | numpy.random.Generator | None, default=None
    n_mels : int, default=32
    hop_length : int | None, default=None
    return_null : bool, default=False
        Also return the null distribution.
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    p : float
        ``(1 + #{null >= observed}) / (1 + n_permutations)``.
    null : ndarray, shape (n_permutations,)
        Only with ``return_null=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import permutation_p_value
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> p, null = permutation_p_value(
    ...     y, noisy, sfreq=8000, n_permutations=99, random_state=0, return_null=True
    ... )
    >>> p < 0.05, null.shape
    (True, (99,))
    """
    if int(n_permutations) < 1:
        raise ValueError(f"n_permutations must be a positive integer; got {n_permutations}.")
    sim = similarity_matrix(
        y_true, y_pred, sfreq, n_mels=n_mels, hop_length=hop_length, trim_seconds=trim_seconds
    )
    rng = np.random.default_rng(random_state)
    n = len(sim)
    observed = np.trace(sim) / n
    rows = np.arange(n)
    null = np.array([sim[rows, rng.permutation(n)].mean() for _ in range(int(n_permutations))])
    p = (1.0 + np.sum(null >= observed)) / (1.0 + len(null))
    return (float(p), null) if return_null else float(p)
