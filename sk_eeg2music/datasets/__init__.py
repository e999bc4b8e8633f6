"""Datasets: the simulated default and loaders for the published recordings."""

from ._base import EEGMusicData
from .simulated import DEFAULT_SNR_DB, make_simulated

__all__ = ["DEFAULT_SNR_DB", "EEGMusicData", "make_simulated"]
