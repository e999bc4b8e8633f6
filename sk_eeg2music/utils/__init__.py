"""Shared helpers: input validation and estimator discovery."""

from ._validation import check_audio, check_eeg, check_sfreq, check_y_for_eeg

__all__ = ["check_audio", "check_eeg", "check_sfreq", "check_y_for_eeg"]
