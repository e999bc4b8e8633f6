"""Cross-validated evaluation of reconstruction models, with chance levels, nulls and tests.

:func:`evaluate_models` is the one entry point that the demo, the command line
and the benchmarks use: it runs every model of the registry
(:func:`~sk_eeg2music.pipelines.make_models`) under one splitter and scores
every test trial at two levels:

* **features** (``feature_*``): the decoded log-mel at the EEG frame rate,
  before any synthesis (:func:`~sk_eeg2music.pipelines.predict_features`),
  against the true one (:func:`~sk_eeg2music.metrics.feature_target`);
  ``feature_r_beat`` is the partial r beyond the beat template of the training
  fold (what a prediction decodes that the beat grid alone does not give);
* **waveforms**: spectral metrics with the trial edges trimmed, match–mismatch
  against other segments of the same stimulus, identification, and the
  Fréchet mel distance (realism) beside its floor.

Per-trial scores make paired tests possible (:func:`compare_models`:
Wilcoxon signed-rank against each baseline and null, Holm-corrected);
intervals resample subjects (:func:`summarize_trials`) or, over folds, need at
least five of them (:func:`summarize`).

Subject ids reach the pipeline as ``groups`` through scikit-learn's metadata
routing, both in ``fit`` (alignment and penalties per training subject) and in
``predict`` (each test subject aligned with its own EEG only); ``stimulus``,
``segment`` and ``condition`` reach the steps that request them (the
time-shifted null, a condition-aware GAN).

The code lives in private modules by responsibility, in the order a run
flows: ``_scoring`` (per-trial and per-fold scores), ``_folds`` (fitting and
scoring the folds of one model), ``_summary`` (intervals and paired tests) and
``_harness`` (:func:`evaluate_models` and :class:`Evaluation`).
"""

# Constants and a metric re-exported as before the split (not on the API page).
from ..metrics import song_identification_accuracy as song_identification_accuracy
from ._folds import cross_validate_reconstruction, fit_predict
from ._harness import REFERENCE_MODELS as REFERENCE_MODELS
from ._harness import Evaluation, evaluate_models
from ._scoring import FOLD_METRICS as FOLD_METRICS
from ._scoring import GUESSES as GUESSES
from ._scoring import TRIAL_METRICS as TRIAL_METRICS
from ._scoring import (
    beat_reference,
    recording_labels,
    score_reconstructions,
    score_trials,
    segment_keys,
)
from ._summary import COMPARED_METRICS as COMPARED_METRICS
from ._summary import RATE_METRICS as RATE_METRICS
from ._summary import compare_models, label_tests, summarize, summarize_trials

__all__ = [
    "score_reconstructions",
    "score_trials",
    "beat_reference",
    "recording_labels",
    "segment_keys",
    "fit_predict",
    "cross_validate_reconstruction",
    "evaluate_models",
    "Evaluation",
    "summarize",
    "summarize_trials",
    "compare_models",
    "label_tests",
]
