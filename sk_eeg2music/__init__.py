"""sk_eeg2music: reconstruct perceived and imagined music from EEG.

Data flow: :mod:`~sk_eeg2music.datasets` → :mod:`~sk_eeg2music.preprocessing`
→ :mod:`~sk_eeg2music.models` → :mod:`~sk_eeg2music.metrics` →
:mod:`~sk_eeg2music.model_selection`.
"""

__version__ = "0.1.0"

from .datasets import EEGMusicData, from_mne, load_mos, load_nmedt, make_simulated

__all__ = ["EEGMusicData", "from_mne", "load_mos", "load_nmedt", "make_simulated", "__version__"]
