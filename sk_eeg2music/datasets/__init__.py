"""Datasets: the simulated default and loaders for the published recordings."""

from ._base import EEGMusicData
from .mne_io import from_mne
from .mos import load_mos
from .nmedt import load_nmedt
from .simulated import DEFAULT_SNR_DB, make_simulated

__all__ = ["DEFAULT_SNR_DB", "EEGMusicData", "from_mne", "load_mos", "load_nmedt", "make_simulated"]
