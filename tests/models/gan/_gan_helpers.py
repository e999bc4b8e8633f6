"""Shared by the GAN tests: the smallest data geometry and a tiny, fast GAN."""

from sk_eeg2music import EEG2MusicGAN

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
