"""sk_eeg2music: reconstruct perceived and imagined music from EEG.

Data flow: :mod:`~sk_eeg2music.datasets` → :mod:`~sk_eeg2music.preprocessing`
→ :mod:`~sk_eeg2music.models` → :mod:`~sk_eeg2music.metrics` →
:mod:`~sk_eeg2music.model_selection` → :mod:`~sk_eeg2music.report`.
"""

__version__ = "0.1.0"

from .datasets import EEGMusicData, from_mne, load_mos, load_nmedt, make_simulated
from .model_selection import SubjectTimeSplit
from .models import (
    BeatTemplateBaseline,
    ByCondition,
    EEG2MusicGAN,
    LinearDecoder,
    MeanSpectrumBaseline,
    ReducedRankDecoder,
    ShuffledPairs,
    TimeShiftedPairs,
)
from .persistence import load_model, save_model
from .preprocessing import BandpassFilter, ChannelScaler, Clip, EuclideanAlignment, Resample
from .report import write_report

__all__ = [
    "BandpassFilter",
    "BeatTemplateBaseline",
    "ByCondition",
    "ChannelScaler",
    "Clip",
    "EEG2MusicGAN",
    "EEGMusicData",
    "EuclideanAlignment",
    "LinearDecoder",
    "MeanSpectrumBaseline",
    "ReducedRankDecoder",
    "Resample",
    "ShuffledPairs",
    "SubjectTimeSplit",
    "TimeShiftedPairs",
    "from_mne",
    "load_mos",
    "load_model",
    "load_nmedt",
    "make_simulated",
    "save_model",
    "write_report",
    "__version__",
]
