"""Datasets: the simulated default and loaders for the published recordings."""

from ._base import EEGMusicData
from ._load import DATASETS, load_dataset
from .mne_io import from_mne, read_epochs
from .mos import load_mos
from .nmedt import load_nmedt
from .simulated import DEFAULT_SNR_DB, make_simulated

__all__ = [
    "DATASETS",
    "DEFAULT_SNR_DB",
    "EEGMusicData",
    "from_mne",
    "load_dataset",
    "load_mos",
    "load_nmedt",
    "make_simulated",
    "read_epochs",
]
