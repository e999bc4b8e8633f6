"""Reconstruction metrics on waveforms of shape ``(n_trials, n_audio)``.

Each metric ``f(y_true, y_pred, sfreq=...)`` returns the mean over trials; the
``*_per_trial`` variants return one value per trial. :func:`make_scorers` wraps
them for ``cross_validate(..., scoring=...)``.

Spectral metrics share one analysis: the log-mel spectrogram of
:func:`sk_eeg2music.audio.log_mel_spectrogram` with an 8 ms hop and 32 bands,
so a number reported by one metric describes the same representation as the
others.

**Trial edges are excluded.** A centred STFT pads each trial with zeros, so
the first and last frames of *every* trial dip (or, where the music is cut
mid-note, click) in the same way. Any prediction with the same edges, even a
time-constant spectrum, then correlates with the truth: a Griffin-Lim
rendering of a constant log-mel scores mel r 0.146 on simulated music with
every frame kept, and 0.000 with the edges dropped. Every STFT- or mel-based
waveform metric therefore drops ``trim_seconds`` at each edge, by default
``max(n_fft / sfreq, 0.1 s)``: the frames whose analysis window reaches past
the trial, plus a margin. ``trim_seconds=0`` restores the old behaviour.
Feature-level metrics (decoded log-mel at the EEG rate,
``(n_trials, n_mels, n_frames)``) drop ``trim_frames=2`` frames at each edge,
the frames whose 32-ms window reaches past the trial at 64 and 125 Hz.

Levels: waveform metrics score what a listener hears (after synthesis);
:func:`feature_correlation` and :func:`feature_identification_accuracy` score
the decoded log-mel before any synthesis; :func:`match_mismatch_accuracy`
works at both; :func:`feature_song_identification_per_recording` names the
song of a whole recording (MOS-style trial classification) from its decoded
segments. :func:`frechet_mel_distance` measures realism, not fidelity.
With ``reference=`` (an EEG-free prediction such as the beat template),
:func:`feature_correlation` is the partial r beyond it: a beat-only prediction
scores 0 there.
Inside :func:`shared_spectrograms` the metrics compute each array's log-mel
once.

Every name is importable from here; the code lives in private modules by
responsibility: ``_common`` (input checks, the log-mel analysis and its memo,
trial edges), ``_waveform`` (correlations and distances), ``_identification``,
``_features`` (decoded log-mel), ``_match_mismatch``, ``_realism`` (Fréchet),
``_significance`` (p-values) and ``_scorers``.
"""

from ._common import EDGE_FRAMES, EDGE_SECONDS, edge_frames, shared_spectrograms
from ._features import (
    feature_correlation,
    feature_correlation_per_trial,
    feature_identification_accuracy,
    feature_identification_accuracy_per_trial,
    feature_song_identification_per_recording,
    feature_target,
)
from ._identification import (
    identification_accuracy,
    identification_accuracy_per_trial,
    identification_chance,
    rank_accuracy,
    rank_accuracy_per_trial,
    similarity_matrix,
    song_identification_accuracy,
)
from ._match_mismatch import match_mismatch_accuracy, match_mismatch_accuracy_per_trial
from ._realism import frechet_mel_distance, frechet_mel_floor
from ._scorers import make_scorers
from ._significance import binomial_p_value, permutation_p_value
from ._waveform import (
    envelope_correlation,
    envelope_correlation_per_trial,
    log_spectral_distance,
    log_spectral_distance_per_trial,
    mel_cepstral_distortion,
    mel_cepstral_distortion_per_trial,
    mel_correlation,
    mel_correlation_per_trial,
    si_sdr,
    si_sdr_per_trial,
    waveform_correlation,
    waveform_correlation_per_trial,
)

__all__ = [
    "EDGE_FRAMES",
    "EDGE_SECONDS",
    "binomial_p_value",
    "edge_frames",
    "envelope_correlation",
    "envelope_correlation_per_trial",
    "feature_correlation",
    "feature_correlation_per_trial",
    "feature_identification_accuracy",
    "feature_identification_accuracy_per_trial",
    "feature_song_identification_per_recording",
    "feature_target",
    "frechet_mel_distance",
    "frechet_mel_floor",
    "identification_accuracy",
    "identification_accuracy_per_trial",
    "identification_chance",
    "log_spectral_distance",
    "log_spectral_distance_per_trial",
    "make_scorers",
    "match_mismatch_accuracy",
    "match_mismatch_accuracy_per_trial",
    "mel_cepstral_distortion",
    "mel_cepstral_distortion_per_trial",
    "mel_correlation",
    "mel_correlation_per_trial",
    "permutation_p_value",
    "rank_accuracy",
    "rank_accuracy_per_trial",
    "shared_spectrograms",
    "si_sdr",
    "si_sdr_per_trial",
    "similarity_matrix",
    "song_identification_accuracy",
    "waveform_correlation",
    "waveform_correlation_per_trial",
]
