"""Losses of the EEG-to-waveform GAN, as free functions returning ``(total, parts)``.

``parts`` is a dict of detached-or-not scalar tensors, one per component, so the
estimator can record every component in its ``history``. Waveforms are
``(batch, n_audio)`` tensors throughout.

The spectral transforms that need fixed buffers (the Slaney mel filterbank from
:func:`librosa.filters.mel`, the analysis windows) live in small modules
(:class:`LogMelSpectrogram`, :class:`ReconstructionLoss`) so they follow the
estimator to its device.
"""

import math
import warnings

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...audio import mel_params

ADVERSARIAL_LOSSES = ("lsgan", "hinge")

#: Parallel WaveGAN's MR-STFT resolutions (n_fft, hop, win) at 24 kHz; rescaled
#: to other rates by :func:`default_stft_resolutions`.
PWG_RESOLUTIONS_24K = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def _check_kind(kind):
    if kind not in ADVERSARIAL_LOSSES:
        raise ValueError(f"adversarial loss must be one of {ADVERSARIAL_LOSSES}; got {kind!r}.")


def discriminator_loss(real_logits, fake_logits, kind="lsgan"):
    """Discriminator loss summed over sub-discriminators.

    Parameters
    ----------
    real_logits, fake_logits : list of Tensor
        One logit map per sub-discriminator, for real and generated audio.
    kind : {"lsgan", "hinge"}, default="lsgan"
        Least squares (HiFi-GAN: ``(1 - D(y))^2 + D(G(x))^2``) or hinge
        (MelGAN: ``relu(1 - D(y)) + relu(1 + D(G(x)))``).

    Returns
    -------
    total : Tensor
        Scalar.
    parts : dict
        ``d_real`` and ``d_fake``: the two halves of ``total``.
    """
    _check_kind(kind)
    real = sum(_real_term(r, kind) for r in real_logits)
    fake = sum(_fake_term(f, kind) for f in fake_logits)
    return real + fake, {"d_real": real, "d_fake": fake}


def _real_term(logit, kind):
    if kind == "lsgan":
        return torch.mean((1.0 - logit) ** 2)
    return torch.mean(torch.relu(1.0 - logit))


def _fake_term(logit, kind):
    if kind == "lsgan":
        return torch.mean(logit**2)
    return torch.mean(torch.relu(1.0 + logit))


def generator_adversarial_loss(fake_logits, kind="lsgan"):
    """Generator's adversarial loss summed over sub-discriminators.

    Parameters
    ----------
    fake_logits : list of Tensor
        Logit maps of the generated audio.
    kind : {"lsgan", "hinge"}, default="lsgan"
        ``(1 - D(G(x)))^2`` or ``-D(G(x))``.

    Returns
    -------
    total : Tensor
    parts : dict
        ``adv``: the total.
    """
    _check_kind(kind)
    if kind == "lsgan":
        total = sum(torch.mean((1.0 - f) ** 2) for f in fake_logits)
    else:
        total = sum(-torch.mean(f) for f in fake_logits)
    return total, {"adv": total}


def feature_matching_loss(real_fmaps, fake_fmaps):
    """L1 distance between discriminator activations on real and generated audio.

    Summed over sub-discriminators and layers, each term a mean over elements
    (HiFi-GAN's ``feature_loss`` without its built-in factor 2, which is
    ``lambda_fm`` here). The real activations are detached.

    Parameters
    ----------
    real_fmaps, fake_fmaps : list of list of Tensor
        Feature maps per sub-discriminator and layer.

    Returns
    -------
    total : Tensor
    parts : dict
        ``fm``: the total.
    """
    total = sum(
        torch.mean(torch.abs(r.detach() - f))
        for rs, fs in zip(real_fmaps, fake_fmaps)
        for r, f in zip(rs, fs)
    )
    return total, {"fm": total}


def waveform_l1_loss(y_pred, y_true):
    """Mean absolute sample difference (phase-sensitive; the seed paper's L_rec_wav).

    Returns
    -------
    total : Tensor
    parts : dict
        ``wav``: the total.
    """
    total = torch.mean(torch.abs(y_pred - y_true))
    return total, {"wav": total}


def default_stft_resolutions(sample_rate):
    """Parallel WaveGAN's three STFT resolutions rescaled to a sampling rate.

    Parameters
    ----------
    sample_rate : float
        Audio rate (Hz).

    Returns
    -------
    resolutions : tuple of (n_fft, hop_length, win_length)
        ``n_fft`` the power of two nearest to the rescaled value (at least 16),
        ``win_length <= n_fft``.
    """
    scale = float(sample_rate) / 24000.0
    out = []
    for n_fft, hop, win in PWG_RESOLUTIONS_24K:
        n = max(16, 2 ** int(round(math.log2(n_fft * scale))))
        out.append((n, max(1, int(round(hop * scale))), min(n, max(2, int(round(win * scale))))))
    return tuple(out)


def stft_magnitude(y, n_fft, hop_length, win_length):
    """Magnitude STFT, shape ``(batch, n_fft // 2 + 1, n_frames)``, floored at 1e-7.

    Same frames as ``torch.stft(y, n_fft, hop_length, win_length, hann_window,
    center=True, pad_mode="constant")`` (``1 + n_audio // hop_length`` frames,
    the window centred in ``n_fft``), computed by framing with
    ``Tensor.unfold`` and ``torch.fft.rfft``, whose backward pass is about a
    third cheaper on CPU than ``torch.stft``'s.
    """
    window = torch.hann_window(win_length, device=y.device, dtype=y.dtype)
    left = (n_fft - win_length) // 2
    window = F.pad(window, (left, n_fft - win_length - left))
    frames = F.pad(y, (n_fft // 2, n_fft // 2)).unfold(-1, n_fft, hop_length) * window
    spec = torch.fft.rfft(frames)
    power = spec.real**2 + spec.imag**2
    return power.clamp_min(1e-14).sqrt().transpose(-1, -2)


def multi_resolution_stft_loss(y_pred, y_true, resolutions):
    """Multi-resolution STFT loss: spectral convergence + log-magnitude L1.

    Per resolution, spectral convergence ``||S_true| - |S_pred||_F / ||S_true||_F``
    and the mean absolute difference of log magnitudes; each averaged over
    resolutions (Parallel WaveGAN).

    Parameters
    ----------
    y_pred, y_true : Tensor, shape (batch, n_audio)
    resolutions : sequence of (n_fft, hop_length, win_length)

    Returns
    -------
    total : Tensor
        ``stft_sc + stft_mag``.
    parts : dict
        ``stft_sc`` and ``stft_mag``.
    """
    sc, mag = 0.0, 0.0
    for n_fft, hop, win in resolutions:
        p = stft_magnitude(y_pred, n_fft, hop, win)
        t = stft_magnitude(y_true, n_fft, hop, win)
        sc = sc + torch.linalg.vector_norm(t - p) / torch.linalg.vector_norm(t)
        mag = mag + torch.mean(torch.abs(torch.log(t) - torch.log(p)))
    sc, mag = sc / len(resolutions), mag / len(resolutions)
    return sc + mag, {"stft_sc": sc, "stft_mag": mag}


def slaney_mel_filterbank(sample_rate, n_fft, n_mels, fmin=30.0, fmax=None):
    """Slaney-scale, Slaney-normalised mel filterbank from :func:`librosa.filters.mel`.

    Returns
    -------
    fb : ndarray, shape (n_mels, n_fft // 2 + 1), float32
    """
    with warnings.catch_warnings():
        # At the tiny sampling rates of scikit-learn's generic checks some bands
        # are empty; an empty band is a constant log-floor row, which adds a
        # constant to the loss and nothing to its gradient.
        warnings.filterwarnings("ignore", message=".*[Ee]mpty filters.*")
        fb = librosa.filters.mel(
            sr=float(sample_rate),
            n_fft=int(n_fft),
            n_mels=int(n_mels),
            fmin=float(fmin),
            fmax=None if fmax is None else float(fmax),
            htk=False,
            norm="slaney",
        )
    return fb.astype(np.float32)


class LogMelSpectrogram(nn.Module):
    """Log-mel power spectrogram with one frame per ``hop_length`` samples.

    Same definition as :func:`sk_eeg2music.audio.log_mel_spectrogram` (Slaney
    filterbank, power spectrum, centred frames with zero padding), in torch so
    gradients flow.

    Parameters
    ----------
    sample_rate : float
        Audio rate (Hz).
    hop_length : int
        Hop in samples; the output has ``n_audio // hop_length`` frames.
    n_mels : int, default=64
    n_fft : int | None, default=None
        ``None`` uses :func:`sk_eeg2music.audio.mel_params`' rule (a power of two
        spanning at least two hops and 32 ms).
    fmin, fmax : float | None
        Band edges (Hz); ``fmax=None`` is Nyquist.
    eps : float, default=1e-5
        Floor added to the mel power before the log, so inaudibly quiet bins do
        not dominate an L1 loss.
    """

    def __init__(
        self, sample_rate, hop_length, n_mels=64, n_fft=None, fmin=30.0, fmax=None, eps=1e-5
    ):
        super().__init__()
        params = mel_params(sample_rate, hop_length, n_mels, fmin, fmax)
        self.n_fft = int(params["n_fft"] if n_fft is None else n_fft)
        self.hop_length = int(hop_length)
        self.eps = float(eps)
        fb = slaney_mel_filterbank(sample_rate, self.n_fft, n_mels, params["fmin"], params["fmax"])
        self.register_buffer("filterbank", torch.from_numpy(fb))
        self.register_buffer("window", torch.hann_window(self.n_fft))

    def forward(self, y):
        """Waveforms ``(batch, n_audio)`` -> log-mel ``(batch, n_mels, n_audio // hop_length)``."""
        spec = torch.stft(
            y,
            self.n_fft,
            self.hop_length,
            window=self.window.to(y.dtype),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real**2 + spec.imag**2
        mel = torch.matmul(self.filterbank.to(y.dtype), power)
        return torch.log(mel[..., : y.shape[-1] // self.hop_length] + self.eps)


def mel_l1_loss(mel, y_pred, y_true, target=None):
    """L1 distance between log-mel spectrograms.

    Parameters
    ----------
    mel : LogMelSpectrogram
    y_pred, y_true : Tensor, shape (batch, n_audio)
    target : Tensor | None
        Precomputed ``mel(y_true)``.

    Returns
    -------
    total : Tensor
    parts : dict
        ``mel``: the total.
    """
    target = mel(y_true) if target is None else target
    total = torch.mean(torch.abs(mel(y_pred) - target))
    return total, {"mel": total}


def zscore_over_time(x, eps=1e-5):
    """Standardise each (example, band) row of ``(batch, n_bands, n_frames)`` over frames."""
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / (std + eps)


def aux_mel_l1_loss(aux_pred, target):
    """L1 between the generator's EEG-rate head and the true log-mel's time course.

    The target is the true log-mel z-scored over time per example and band
    (:meth:`ReconstructionLoss.aux_target`), so the head (and through it the
    EEG encoder) learns the spectro-temporal modulations EEG can carry, not
    the absolute level of each band.

    Parameters
    ----------
    aux_pred : Tensor, shape (batch, n_mels, n_times)
    target : Tensor, shape (batch, n_mels, n_times)
        z-scored true log-mel, one frame per EEG sample.

    Returns
    -------
    total : Tensor
    parts : dict
        ``aux``: the total.
    """
    if aux_pred.shape != target.shape:
        raise ValueError(
            f"the auxiliary mel head has shape {tuple(aux_pred.shape)} but its target has "
            f"{tuple(target.shape)}; module__aux_mels must equal criterion__aux_mels."
        )
    total = torch.mean(torch.abs(aux_pred - target))
    return total, {"aux": total}


def contrastive_loss(pred, target, temperature=0.1):
    """Segment-level contrastive (CLIP / InfoNCE) loss between decoded and true log-mels.

    Each decoded segment must pick its own true segment among the batch's
    (Défossez et al. 2023: a softmax over audio candidates of the cosine
    similarity between brain output and audio features). Segments whose true
    log-mels are identical (the same music heard by several subjects) are all
    counted as positives.

    Parameters
    ----------
    pred : Tensor, shape (batch, n_mels, n_times)
        Decoded log-mel.
    target : Tensor, shape (batch, n_mels, n_times)
        True log-mel (z-scored over time).
    temperature : float, default=0.1
        Softmax temperature of the cosine similarities.

    Returns
    -------
    total : Tensor
        Cross-entropy, averaged over the batch; ``log(batch)`` at chance.
    parts : dict
        ``clip``: the total.
    """
    p = F.normalize(pred.flatten(1), dim=1)
    t = F.normalize(target.flatten(1), dim=1)
    logits = p @ t.T / float(temperature)
    with torch.no_grad():
        same = (t @ t.T) > 1.0 - 1e-4
        labels = same.float() / same.sum(dim=1, keepdim=True).clamp_min(1)
    total = -(labels * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    return total, {"clip": total}


class ReconstructionLoss(nn.Module):
    """The reconstruction terms of the generator loss, unweighted.

    Holds the mel filterbanks as buffers; ``forward`` returns a dict with one
    scalar per requested component. Weights are applied by
    :func:`weighted_sum` so they can change without rebuilding this module.

    Parameters
    ----------
    sample_rate : float
        Audio rate (Hz).
    hop_length : int
        Hop of the mel loss (samples).
    aux_hop_length : int | None, default=None
        Audio samples per EEG sample, the hop of the auxiliary head's target;
        ``None`` uses ``hop_length``.
    n_mels : int, default=64
        Mel bands of the mel loss.
    aux_mels : int, default=0
        Mel bands of the auxiliary head (0: no auxiliary loss).
    n_fft : int | None, default=None
        FFT size of the mel loss (see :class:`LogMelSpectrogram`).
    fmin : float, default=30.0
    stft_resolutions : sequence of (n_fft, hop, win) | None, default=None
        ``None`` uses :func:`default_stft_resolutions`.
    eps : float, default=1e-5
        Log floor of the mel power.
    """

    COMPONENTS = ("mel", "stft", "wav", "aux")

    def __init__(
        self,
        sample_rate,
        hop_length,
        aux_hop_length=None,
        n_mels=64,
        aux_mels=0,
        n_fft=None,
        fmin=30.0,
        stft_resolutions=None,
        eps=1e-5,
    ):
        super().__init__()
        aux_hop_length = hop_length if aux_hop_length is None else aux_hop_length
        self.mel = LogMelSpectrogram(sample_rate, hop_length, n_mels, n_fft, fmin, eps=eps)
        self.aux_mels = int(aux_mels)
        if self.aux_mels == n_mels and aux_hop_length == hop_length and n_fft is None:
            self.aux_mel = None  # same transform as the mel loss
        elif self.aux_mels > 0:
            self.aux_mel = LogMelSpectrogram(
                sample_rate, aux_hop_length, aux_mels, fmin=fmin, eps=eps
            )
        else:
            self.aux_mel = None
        self.stft_resolutions = tuple(
            tuple(int(v) for v in r)
            for r in (
                default_stft_resolutions(sample_rate)
                if stft_resolutions is None
                else stft_resolutions
            )
        )

    def aux_target(self, y):
        """Target of the auxiliary head: log-mel at the EEG frame rate, z-scored over time.

        Parameters
        ----------
        y : Tensor, shape (batch, n_times * aux_hop_length)

        Returns
        -------
        target : Tensor, shape (batch, aux_mels, n_times)
        """
        mel = self.mel if self.aux_mel is None else self.aux_mel
        return zscore_over_time(mel(y))

    def forward(self, y_pred, y_true, aux=None, components=COMPONENTS, aux_target=None):
        """Unweighted reconstruction terms.

        Parameters
        ----------
        y_pred, y_true : Tensor, shape (batch, n_audio)
        aux : Tensor | None, shape (batch, aux_mels, n_times)
            The generator's auxiliary log-mel prediction.
        components : iterable of str
            Which of ``"mel"``, ``"stft"``, ``"wav"``, ``"aux"`` to compute
            (skipping zero-weighted ones saves time).
        aux_target : Tensor | None, shape (batch, aux_mels, n_times)
            Precomputed :meth:`aux_target`, e.g. of whole trials when ``y_true``
            is a crop; ``None`` computes it from ``y_true``.

        Returns
        -------
        parts : dict of str -> Tensor
            Keys among ``mel``, ``stft_sc``, ``stft_mag``, ``wav``, ``aux``.
        """
        components = set(components)
        parts = {}
        if "mel" in components:
            parts.update(mel_l1_loss(self.mel, y_pred, y_true)[1])
        if "stft" in components:
            parts.update(multi_resolution_stft_loss(y_pred, y_true, self.stft_resolutions)[1])
        if "wav" in components:
            parts.update(waveform_l1_loss(y_pred, y_true)[1])
        if "aux" in components and aux is not None and self.aux_mels > 0:
            target = self.aux_target(y_true) if aux_target is None else aux_target
            parts.update(aux_mel_l1_loss(aux, target[..., : aux.shape[-1]])[1])
        return parts


def weighted_sum(parts, weights):
    """Weighted total of loss components.

    Parameters
    ----------
    parts : dict of str -> Tensor
        Loss components.
    weights : dict of str -> float
        Weight per component; components without a weight count 0.

    Returns
    -------
    total : Tensor
        Scalar; a zero tensor if no component has a non-zero weight.
    """
    terms = [weights[k] * v for k, v in parts.items() if weights.get(k, 0.0)]
    if not terms:
        ref = next(iter(parts.values()), None)
        return torch.zeros((), device=None if ref is None else ref.device)
    return sum(terms[1:], terms[0])
