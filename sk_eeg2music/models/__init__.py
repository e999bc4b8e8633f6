"""Decoders from EEG to music: every estimator's ``predict`` returns waveforms."""

from .linear import LinearDecoder

__all__ = ["LinearDecoder"]
