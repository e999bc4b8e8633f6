"""Realism: the Fréchet mel distance and its floor."""

import numpy as np
import scipy.linalg

from ..utils._validation import check_sfreq
from ._common import _CHUNK, _N_MELS, _check_wave, _hop, _trimmed_log_mel, _unique_rows


def _trial_moments(y, sfreq, n_mels, hop_length, trim_seconds, name):
    """Per-trial frame sums ``(n, n_mels)`` and Gram matrices ``(n, n_mels, n_mels)``."""
    y = _check_wave(y, name)
    hop = _hop(sfreq, hop_length)
    mel = _trimmed_log_mel(y, sfreq, hop, n_mels, trim_seconds)
    sums, grams = [], []
    for i in range(0, len(mel), _CHUNK):  # float64 copies of a chunk at a time
        x = mel[i : i + _CHUNK].astype(np.float64)
        sums.append(x.sum(axis=-1))
        # einsum, not a batched matmul: OpenBLAS threads on many small matrices spin for
        # ~100x the work on a loaded machine.
        grams.append(np.einsum("tif,tjf->tij", x, x))
    return np.concatenate(sums), np.concatenate(grams), mel.shape[-1]


def _gaussian_fit(sums, grams, n_frames):
    """Mean and covariance of the pooled frames of the trials whose moments are given."""
    n = len(sums) * n_frames
    mu = sums.sum(axis=0) / n
    cov = (grams.sum(axis=0) - n * np.outer(mu, mu)) / max(n - 1, 1)
    return mu, cov


def _gaussian_frechet(mu1, s1, mu2, s2):
    """Fréchet distance between two Gaussians, ``|mu1 - mu2|^2 + tr(s1 + s2 - 2 (s1 s2)^½)``."""
    diff = mu1 - mu2
    # tr sqrtm(s1 s2) = tr sqrtm(s1^½ s2 s1^½), a symmetric PSD matrix: eigh stays real and
    # stable when a covariance is singular (a constant prediction), where sqrtm(s1 @ s2)
    # returns complex noise.
    w, v = scipy.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(scipy.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum()
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * cross, 0.0))


def frechet_mel_distance(y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None, trim_seconds=None):
    """Fréchet distance between Gaussian fits of log-mel frames: realism, not fidelity.

    The log-mel frames of all trials (edges dropped) are pooled per set, each
    set is fitted with a Gaussian (mean, covariance over bands), and
    ``|mu_t - mu_p|^2 + tr(S_t + S_p - 2 (S_t S_p)^½)`` is returned (squared
    natural-log units). A cheap stand-in for the Fréchet audio distance, which
    needs a pretrained embedding. It asks whether the reconstructions *sound
    like* the music (level, spectral shape, how bands co-vary), not whether
    each one matches its own trial: shuffled originals score at the floor.
    There is no chance level; read it against :func:`frechet_mel_floor`, the
    distance between two disjoint halves of the originals. Lower is better.
    On 28 simulated 4-s chorale segments (16 kHz) the floor is 80 +- 30 (10
    random halvings), Griffin-Lim of the time-averaged log-mel scores 476 and
    a constant-spectrum noise 623: little music makes a wide floor.

    Parameters
    ----------
    y_true : ndarray, shape (n_trials, n_audio)
        Original waveforms.
    y_pred : ndarray, shape (n_pred, n_audio_pred)
        Reconstructions; the number and length of trials may differ.
    sfreq : float
        Audio rate (Hz) of both.
    n_mels : int, default=32
    hop_length : int | None, default=None
        ``None`` gives 8 ms.
    trim_seconds : float | None, default=None
        Edge margin (see :func:`edge_frames`).

    Returns
    -------
    fmd : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import frechet_mel_distance
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> round(frechet_mel_distance(y, y[::-1], sfreq=8000), 6)  # same frames, other order
    0.0
    >>> frechet_mel_distance(y, 0.1 * y, sfreq=8000) > 20  # 20 dB quieter: far
    True
    """
    sfreq = check_sfreq(sfreq)
    kw = dict(n_mels=n_mels, hop_length=hop_length, trim_seconds=trim_seconds)
    fit_true = _gaussian_fit(*_trial_moments(y_true, sfreq, name="y_true", **kw))
    fit_pred = _gaussian_fit(*_trial_moments(y_pred, sfreq, name="y_pred", **kw))
    return _gaussian_frechet(*fit_true, *fit_pred)


def frechet_mel_floor(
    y_true,
    sfreq,
    n_repeats=5,
    random_state=None,
    n_mels=_N_MELS,
    hop_length=None,
    trim_seconds=None,
):
    """:func:`frechet_mel_distance` between two disjoint halves of the originals.

    The distinct rows of ``y_true`` are split at random into two halves and
    their distance is averaged over ``n_repeats`` splits. It is what sampling
    alone gives: a reconstruction as realistic as the music scores about
    this. Each half has half the frames, so it slightly overestimates the
    floor of the full set.

    Parameters
    ----------
    y_true : ndarray, shape (n_trials, n_audio)
        Original waveforms; at least 4 distinct rows.
    sfreq : float
        Audio rate (Hz).
    n_repeats : int, default=5
        Random splits averaged.
    random_state : int | numpy.random.Generator | None, default=None
    n_mels, hop_length, trim_seconds
        As in :func:`frechet_mel_distance`.

    Returns
    -------
    floor : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import frechet_mel_distance, frechet_mel_floor
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((8, 8000)).astype(np.float32)
    >>> round(frechet_mel_floor(y, sfreq=8000, random_state=0), 2)
    0.76
    >>> round(frechet_mel_distance(y, 0.5 * y, sfreq=8000), 1)  # 32 bands * ln(4)**2
    61.5
    """
    sfreq = check_sfreq(sfreq)
    if int(n_repeats) < 1:
        raise ValueError(f"n_repeats must be a positive integer; got {n_repeats!r}.")
    y_true = _check_wave(y_true, "y_true")
    first, _ = _unique_rows(y_true)
    if len(first) < 4:
        raise ValueError(
            f"the floor needs at least 4 distinct true segments to split in halves; got "
            f"{len(first)}."
        )
    sums, grams, n_frames = _trial_moments(
        y_true, sfreq, n_mels, hop_length, trim_seconds, name="y_true"
    )
    sums, grams = sums[first], grams[first]
    rng = np.random.default_rng(random_state)
    half = len(first) // 2
    out = []
    for _ in range(int(n_repeats)):
        perm = rng.permutation(len(first))
        a, b = perm[:half], perm[half : 2 * half]
        fit_a = _gaussian_fit(sums[a], grams[a], n_frames)
        fit_b = _gaussian_fit(sums[b], grams[b], n_frames)
        out.append(_gaussian_frechet(*fit_a, *fit_b))
    return float(np.mean(out))
