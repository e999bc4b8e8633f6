"""Decoders from EEG to music: every estimator's ``predict`` returns waveforms."""

from .baseline import MeanSpectrumBaseline
from .gan import EEG2MusicGAN
from .linear import LinearDecoder

__all__ = ["EEG2MusicGAN", "LinearDecoder", "MeanSpectrumBaseline"]
