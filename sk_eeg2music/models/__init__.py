"""Decoders from EEG to music: every estimator's ``predict`` returns waveforms.

The linear decoders are :class:`LinearDecoder` (lagged ridge) and
:class:`ReducedRankDecoder` (reduced-rank lagged ridge, the strongest linear
baseline); :class:`ByCondition` fits any of them once per condition (listening,
imagery). Beside the decoders sit their baselines (:class:`MeanSpectrumBaseline`,
:class:`BeatTemplateBaseline`: no EEG at all) and the null controls
(:class:`ShuffledPairs`, :class:`TimeShiftedPairs`: the same pipeline trained on
broken EEG-music pairs) that every score is read against.
"""

from .baseline import BeatTemplateBaseline, MeanSpectrumBaseline
from .conditionwise import ByCondition
from .controls import ShuffledPairs, TimeShiftedPairs
from .gan import EEG2MusicGAN
from .linear import LinearDecoder
from .reduced_rank import ReducedRankDecoder

__all__ = [
    "BeatTemplateBaseline",
    "ByCondition",
    "EEG2MusicGAN",
    "LinearDecoder",
    "MeanSpectrumBaseline",
    "ReducedRankDecoder",
    "ShuffledPairs",
    "TimeShiftedPairs",
]
