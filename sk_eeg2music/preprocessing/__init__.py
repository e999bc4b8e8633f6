"""Transformers on EEG of shape ``(n_trials, n_channels, n_times)``.

Every statistic is fitted inside ``fit`` on the data it is given, so the whole
chain refits in each cross-validation fold; :class:`EuclideanAlignment` goes
further and uses, for each subject, only that subject's own EEG.
"""

from ._alignment import EuclideanAlignment
from ._filter import BandpassFilter, Resample
from ._scaling import ChannelScaler, Clip

__all__ = ["BandpassFilter", "ChannelScaler", "Clip", "EuclideanAlignment", "Resample"]
