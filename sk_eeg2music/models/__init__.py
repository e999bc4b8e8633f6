"""Decoders from EEG to music: estimators ending a scikit-learn pipeline."""

from .gan import EEG2MusicGAN

__all__ = ["EEG2MusicGAN"]
