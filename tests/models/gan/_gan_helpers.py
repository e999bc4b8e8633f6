"""Shared by the GAN tests: the smallest data geometry, a tiny, fast GAN, identification."""

import torch

from sk_eeg2music import EEG2MusicGAN
from sk_eeg2music.models.gan.losses import zscore_over_time

SFREQ, FACTOR, N_TIMES, N_CH = 32.0, 16, 32, 4  # 1-s trials, audio at 512 Hz


def tiny_gan(**kwargs):
    """``EEG2MusicGAN(preset="tiny")`` at :data:`SFREQ`, 2 epochs; ``kwargs`` override."""
    params = dict(
        preset="tiny",
        sfreq=SFREQ,
        max_epochs=2,
        warmup_epochs=1,
        crop_seconds=0.5,
        batch_size=4,
        verbose=0,
        random_state=0,
    )
    return EEG2MusicGAN(**{**params, **kwargs})


def identification(mel_true, mel_pred):
    """n-way identification accuracy of decoded log-mels ``(n, n_mels, n_times)``."""
    zt = zscore_over_time(torch.as_tensor(mel_true, dtype=torch.float64)).flatten(1)
    zp = zscore_over_time(torch.as_tensor(mel_pred, dtype=torch.float64)).flatten(1)
    return float((torch.argmax(zp @ zt.T, dim=1) == torch.arange(len(zt))).float().mean())
