import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from sk_eeg2music import (
    BeatTemplateBaseline,
    MeanSpectrumBaseline,
    SubjectTimeSplit,
    evaluation,
    make_simulated,
    metrics,
)
from sk_eeg2music.evaluation import (
    COMPARED_METRICS,
    RATE_METRICS,
    TRIAL_METRICS,
    beat_reference,
    compare_models,
    cross_validate_reconstruction,
    evaluate_models,
    fit_predict,
    label_tests,
    recording_labels,
    score_reconstructions,
    score_trials,
    segment_keys,
    song_identification_accuracy,
    summarize,
)
from sk_eeg2music.pipelines import (
    front_end_sfreq,
    make_gan_pipeline,
    make_linear_pipeline,
    make_models,
    make_preprocessing,
)


def test_perfect_reconstructions_score_perfectly(simulated):
    data = simulated("mos").select(subject="sub-01", condition="listening")
    s = score_reconstructions(data.y, data.y, data.audio_sfreq, data.stimulus)
    assert s["mel_r"] == pytest.approx(1.0) and s["id_acc"] == 1.0 and s["song_acc"] == 1.0
    assert s["id_chance"] == pytest.approx(1 / len(np.unique(data.segment_id)))
    assert s["id_p"] < 1e-6 and s["n_segments"] == len(np.unique(data.segment_id))


def test_song_identification_of_shuffled_songs_is_wrong(simulated):
    data = simulated("mos").select(subject="sub-01", condition="listening")
    order = np.argsort(data.stimulus, kind="stable")
    other = np.roll(order, len(order) // 4)  # each trial gets another melody's audio
    acc = song_identification_accuracy(data.y[order], data.y[other], data.stimulus[order], 8000)
    assert acc < 0.3


def test_harness_scores_each_fold_and_condition(simulated):
    data = simulated("mos")
    scores, pred = cross_validate_reconstruction(
        MeanSpectrumBaseline(sfreq=data.sfreq),
        data,
        LeaveOneGroupOut(),
        model="mean",
        split="loso",
        max_folds=2,
        return_predictions=True,
        progress=False,
    )
    assert len(scores) == 2 * 2  # folds x conditions
    assert set(scores.condition) == {"listening", "imagery"}
    assert list(scores.test_subjects[::2]) == ["sub-01", "sub-02"]
    tested = np.isin(data.subject, ["sub-01", "sub-02"])
    assert np.isfinite(pred[tested]).all() and np.isnan(pred[~tested]).all()
    # A model that ignores the EEG sits near chance.
    assert (scores.id_acc < 4 * scores.id_chance).all()
    assert scores.mel_r.abs().max() < 0.1


def test_parallel_folds_give_the_serial_scores_in_fold_order(simulated):
    data = simulated("mos")
    pipe = make_linear_pipeline(
        data.sfreq, target="envelope", alphas=[1.0], preprocessing={"l_freq": None}
    )
    kwargs = dict(max_folds=3, return_predictions=True, progress=False)
    serial, pred_serial = cross_validate_reconstruction(pipe, data, LeaveOneGroupOut(), **kwargs)
    parallel, pred_parallel = cross_validate_reconstruction(
        pipe, data, LeaveOneGroupOut(), n_jobs=2, **kwargs
    )
    cols = [c for c in serial.columns if c != "fit_seconds"]
    pd.testing.assert_frame_equal(serial[cols], parallel[cols])
    np.testing.assert_allclose(pred_parallel, pred_serial, rtol=1e-5, atol=1e-7)
    assert list(parallel.test_subjects[::2]) == ["sub-01", "sub-02", "sub-03"]


def test_fold_shards_concatenate_into_the_full_run(simulated):
    # A run sharded by fold (one machine per fold) must equal the unsharded run.
    data = simulated("mos")
    models = {"mean": MeanSpectrumBaseline(sfreq=data.sfreq)}
    kwargs = dict(split="gkf3", progress=False)
    full = evaluate_models(models, data, GroupKFold(3), **kwargs)
    shards = [
        evaluate_models(models, data, GroupKFold(3), fold_indices=i, **kwargs)
        for i in ([2], [0, 1])
    ]
    trials = pd.concat([s.trials for s in shards]).sort_values(["fold", "trial"], ignore_index=True)
    expected = full.trials.sort_values(["fold", "trial"], ignore_index=True)
    pd.testing.assert_frame_equal(trials, expected)
    assert shards[0].folds["fold"].unique().tolist() == [2]


@pytest.mark.parametrize("indices", [[3], [-1], [0, 0], []])
def test_fold_indices_out_of_range_are_rejected(simulated, indices):
    data = simulated("mos")
    models = {"mean": MeanSpectrumBaseline(sfreq=data.sfreq)}
    with pytest.raises(ValueError, match="fold_indices must be distinct indices in \\[0, 2\\]"):
        evaluate_models(models, data, GroupKFold(3), fold_indices=indices, progress=False)


class _ThreadReporter(RegressorMixin, BaseEstimator):
    """Predicts noise whose first sample is the torch thread count seen in ``predict``."""

    def fit(self, X, y):
        self.n_audio_ = y.shape[1]
        return self

    def predict(self, X):
        import torch

        y = np.random.default_rng(0).standard_normal((len(X), self.n_audio_)) * 1e-3
        y[:, 0] = torch.get_num_threads()
        return y


def test_parallel_folds_cap_torch_threads_despite_omp_num_threads(simulated, monkeypatch):
    import torch

    data = simulated("mos")
    # Set by the user: joblib would then leave each worker at 2 threads.
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    before = torch.get_num_threads()
    _, pred = cross_validate_reconstruction(
        _ThreadReporter(), data, LeaveOneGroupOut(), max_folds=2, n_jobs=2,
        return_predictions=True, progress=False,
    )  # fmt: skip
    tested = np.isin(data.subject, ["sub-01", "sub-02"])
    expected = max(1, (os.cpu_count() or 1) // 2)
    assert set(pred[tested, 0]) == {expected}
    assert torch.get_num_threads() == before  # this process untouched


def test_limit_threads_restores_torch_threads():
    import torch

    from sk_eeg2music.evaluation._folds import _limit_threads, _threads_per_worker

    before = torch.get_num_threads()
    with _limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert _threads_per_worker(None, 4) is None and _threads_per_worker(2, 1) is None
    assert _threads_per_worker(2, 4) == max(1, (os.cpu_count() or 1) // 2)


def test_harness_passes_segments_to_subject_time_split(simulated):
    data = simulated("mos")
    scores = cross_validate_reconstruction(
        MeanSpectrumBaseline(sfreq=data.sfreq),
        data,
        SubjectTimeSplit(n_splits=3, random_state=0),
        max_folds=1,
        progress=False,
    )
    assert len(scores) == 2 and scores.n_trials.sum() > 0


def test_groups_reach_alignment_in_fit_and_predict(simulated):
    """Each test subject is aligned with its own EEG: predictions for one subject do
    not change when another subject shares the test batch."""
    data = simulated("mos", n_subjects=3).select(condition="listening")
    train = data.subject == "sub-01"
    a, b = data.subject == "sub-02", data.subject != "sub-01"
    pipe = make_linear_pipeline(data.sfreq, target="envelope", preprocessing=dict(l_freq=None))
    _, alone = fit_predict(
        pipe, data.X[train], data.y[train], data.groups[train], data.X[a], data.groups[a]
    )
    _, shared = fit_predict(
        pipe, data.X[train], data.y[train], data.groups[train], data.X[b], data.groups[b]
    )
    np.testing.assert_allclose(alone, shared[: a.sum()], rtol=1e-4, atol=1e-6)


def test_summarize_gives_a_t_interval_only_from_five_folds():
    vals = [0.1, 0.2, 0.3, 0.25, 0.15]
    scores = pd.DataFrame(dict(model="m", split="s", condition="c", fold=range(5), mel_r=vals))
    out = summarize(scores)
    assert out.loc[0, "n_folds"] == 5 and out.loc[0, "mel_r"] == pytest.approx(0.2)
    t = 2.776445  # t(0.975, 4)
    assert out.loc[0, "mel_r_ci"] == pytest.approx(t * np.std(vals, ddof=1) / np.sqrt(5), 1e-5)
    # Two or three folds: t(0.975, 1) = 12.7 would span the whole scale.
    assert np.isnan(summarize(scores.iloc[:3]).loc[0, "mel_r_ci"])
    assert np.isnan(summarize(scores.iloc[:1]).loc[0, "mel_r_ci"])


def _eeg_free_models(sfreq):
    return make_models(sfreq, ["beat-template", "mean-spectrum"], n_iter=4)


def test_score_trials_levels_and_chance():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((6, 16000)).astype(np.float32)
    stimulus, segment = np.repeat(["a", "b"], 3), np.tile(np.arange(3), 2)
    F = rng.standard_normal((6, 16, 64)).astype(np.float32)
    s = score_trials(y, y[::-1].copy(), 8000, stimulus=stimulus, segment=segment, features=F)
    assert set(s) == {
        "mel_r",
        "envelope_r",
        "mm_acc",
        "id_acc",
        "feature_r",
        "feature_id_acc",
        "feature_id_guess",
        "feature_mm_acc",
    }
    assert all(v.shape == (6,) for v in s.values())
    assert s["id_acc"].mean() == 0.0  # every reconstruction is another segment's audio
    # Single-band features (an envelope) are not log-mels: no feature level.
    assert "feature_r" not in score_trials(
        y, y, 8000, stimulus=stimulus, segment=segment, features=F[:, :1]
    )


def test_evaluate_models_scores_every_trial_and_fold_of_every_model(simulated):
    data = simulated("mos").select(condition="listening")
    ev = evaluate_models(_eeg_free_models(data.sfreq), data, GroupKFold(2), progress=False)
    assert set(ev.folds.model) == {"beat-template", "mean-spectrum"}
    assert len(ev.folds) == 2 * 2
    assert len(ev.trials) == 2 * len(data.X)  # every trial once per model
    assert sorted(ev.trials[ev.trials.model == "mean-spectrum"].trial) == list(range(len(data.X)))
    for col in ("fmd", "fmd_floor", "mm_acc", "feature_r", "feature_mm_acc", "id_chance"):
        assert col in ev.folds.columns
    # No EEG: match-mismatch and feature r sit at chance.
    summary = ev.summary()
    assert summary.set_index("model").loc["mean-spectrum", "feature_mm_acc"] == pytest.approx(0.5)
    assert summary.set_index("model").loc["mean-spectrum", "feature_r"] == pytest.approx(
        0, abs=1e-6
    )
    assert {"feature_r_lo", "feature_r_hi", "n_subjects"} <= set(summary.columns)
    assert "p_feature_r_vs_beat-template" in summary.columns
    # Feature r beyond the beat template: in the trials, folds, summary and comparisons.
    assert "feature_r_beat" in ev.trials.columns and "feature_r_beat" in ev.folds.columns
    assert {"feature_r_beat_lo", "feature_r_beat_hi"} <= set(summary.columns)
    assert "p_feature_r_beat_vs_beat-template" in summary.columns
    comp = ev.comparisons().query("metric == 'feature_r_beat'")
    assert len(comp) > 0 and set(comp.test) == {"wilcoxon"}


def test_compare_models_pairs_trials_and_detects_a_better_model():
    rng = np.random.default_rng(0)
    n = 40
    base = dict(split="s", condition="c", trial=np.arange(n), subject=np.arange(n) % 4)
    good = pd.DataFrame(dict(base, model="good", feature_r=0.3 + 0.05 * rng.standard_normal(n)))
    null = pd.DataFrame(dict(base, model="null", feature_r=0.05 * rng.standard_normal(n)))
    ref = pd.DataFrame(dict(base, model="ref", feature_r=0.05 * rng.standard_normal(n)))
    trials = pd.concat([good, null, ref], ignore_index=True)
    comp = compare_models(trials, ["null", "ref"], metrics=["feature_r"]).set_index(
        ["model", "reference"]
    )
    assert comp.loc[("good", "null"), "p_holm"] < 1e-6
    assert comp.loc[("good", "null"), "n_pairs"] == n
    assert comp.loc[("null", "ref"), "p"] > 0.01
    assert ("null", "null") not in comp.index
    # Holm: the adjusted p is never below the raw one.
    assert (comp.p_holm >= comp.p - 1e-12).all()


def test_preprocessing_requests_groups_for_alignment():
    names = [name for name, _ in make_preprocessing(64.0)]
    assert names == ["filter", "scale", "clip", "align"]
    assert [n for n, _ in make_preprocessing(64.0, clip=None, align=False)] == ["filter", "scale"]
    ea = make_preprocessing(64.0)[-1][1]
    assert ea.get_metadata_routing().fit.requests["groups"] is True
    assert ea.get_metadata_routing().transform.requests["groups"] is True


def test_preprocessing_resamples_after_the_band_pass():
    steps = dict(make_preprocessing(125.0, resample=40.0))
    assert list(steps) == ["filter", "resample", "scale", "clip", "align"]
    # The low-pass follows the lower rate, so nothing aliases when resampling.
    assert steps["filter"].h_freq == pytest.approx(18.0)
    assert (steps["resample"].sfreq, steps["resample"].new_sfreq) == (125.0, 40.0)
    assert make_preprocessing(125.0, h_freq=10.0, resample=40.0)[0][1].h_freq == 10.0
    assert front_end_sfreq(125.0) == 125.0 and front_end_sfreq(125.0, {"clip": None}) == 125.0


def test_resampled_pipelines_run_their_model_at_the_new_rate(simulated):
    data = simulated("nmedt")  # 125 Hz EEG, 8 kHz audio, 2-s segments
    pre = {"resample": 64.0}
    pipe = make_linear_pipeline(data.sfreq, target="envelope", alphas=[1.0], preprocessing=pre)
    gan = make_gan_pipeline(data.sfreq, preset="tiny", max_epochs=1, preprocessing=pre)
    assert pipe[-1].sfreq == gan[-1].sfreq == 64.0
    fitted, y_pred = fit_predict(
        pipe, data.X[:6], data.y[:6], data.groups[:6], data.X[6:9], data.groups[6:9]
    )
    assert fitted[:-1].transform(data.X[:2]).shape[-1] == 2 * 64
    assert fitted[-1].factor_ == 8000 // 64
    assert y_pred.shape == data.y[6:9].shape


def test_feature_identification_counts_distinct_segments_not_trials():
    """Trials of one segment share one true feature array, so a constant prediction
    ties with every distinct segment: exactly chance (batched STFTs of identical
    audio differ in the last bits, which once made every trial its own candidate)."""
    data = make_simulated(
        "mos", n_subjects=2, n_repetitions=2, segment_seconds=2.0, audio_sfreq=8000,
        stimulus_seconds=6.0, conditions=["listening"],
    )  # fmt: skip
    flat = np.zeros((len(data.y), 16, data.X.shape[2]), dtype=np.float32)
    s = score_trials(
        data.y, data.y, 8000, stimulus=data.stimulus, segment=data.segment, features=flat
    )
    n_distinct = len(np.unique(segment_keys(data.stimulus, data.segment)))
    assert n_distinct < len(data.y)
    assert s["feature_id_acc"].mean() == pytest.approx(1 / n_distinct)


def test_feature_r_beat_is_a_compared_correlation():
    assert "feature_r_beat" in TRIAL_METRICS and "feature_r_beat" in COMPARED_METRICS
    assert "feature_r_beat" not in RATE_METRICS  # a correlation: Wilcoxon, not permutation


def test_score_trials_adds_feature_r_beat_with_a_reference():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((6, 16000)).astype(np.float32)
    stimulus, segment = np.repeat(["a", "b"], 3), np.tile(np.arange(3), 2)
    F = rng.standard_normal((6, 16, 64)).astype(np.float32)
    kw = dict(stimulus=stimulus, segment=segment)
    assert "feature_r_beat" not in score_trials(y, y, 8000, features=F, **kw)
    F_true = metrics.feature_target(y, 8000, 32.0, n_mels=16)
    beat = F_true.mean(axis=0)
    s = score_trials(y, y, 8000, features=np.broadcast_to(beat, F.shape), reference=beat, **kw)
    assert s["feature_r_beat"].shape == (6,)
    np.testing.assert_array_equal(s["feature_r_beat"], 0.0)  # the reference itself
    assert s["feature_r"].mean() > 0.1  # ... which the plain r credits
    good = score_trials(y, y, 8000, features=F_true, reference=beat, **kw)
    assert good["feature_r_beat"] == pytest.approx(1.0)


def test_score_trials_song_identification_of_whole_recordings():
    rng = np.random.default_rng(0)
    # Songs a and b, 2 positions, 2 recordings of each song (same audio per position).
    stimulus = np.repeat(["a", "b"], 4)
    segment = np.tile([0, 1], 4)
    y = rng.standard_normal((4, 16000)).astype(np.float32)[[0, 1, 0, 1, 2, 3, 2, 3]]
    recording = np.repeat([0, 1, 2, 3], 2)
    F_true = metrics.feature_target(y, 8000, 32.0, n_mels=16)
    kw = dict(stimulus=stimulus, segment=segment, features=F_true)
    assert "feature_song_acc" not in score_trials(y, y, 8000, **kw)
    s = score_trials(y, y, 8000, recording=recording, **kw)
    # One value per recording, on its first row: means and paired tests count recordings.
    first = np.array([True, False] * 4)
    np.testing.assert_array_equal(s["feature_song_acc"][first], 1.0)
    assert np.isnan(s["feature_song_acc"][~first]).all()
    kw["features"] = F_true[::-1].copy()
    swapped = score_trials(y, y, 8000, recording=recording, **kw)
    np.testing.assert_array_equal(swapped["feature_song_acc"][first], 0.0)
    # The guessed song, on the same rows: for the test that relabels songs.
    np.testing.assert_array_equal(s["feature_song_guess"][first], ["a", "a", "b", "b"])
    np.testing.assert_array_equal(swapped["feature_song_guess"][first], ["b", "b", "a", "a"])
    assert all(g is None for g in s["feature_song_guess"][~first])
    # Each trial's best-matching segment, as its key: for the test that relabels segments.
    keys = segment_keys(stimulus, segment)
    np.testing.assert_array_equal(s["feature_id_guess"], keys)
    np.testing.assert_array_equal(swapped["feature_id_guess"], keys[::-1])


def test_fold_table_scores_song_identification_once_per_recording(simulated):
    data = simulated("mos").select(condition="listening")
    ev = evaluate_models(_eeg_free_models(data.sfreq), data, GroupKFold(2), progress=False)
    n_recordings = len(np.unique(recording_labels(data)))
    assert ev.folds.groupby("model").n_recordings.sum().eq(n_recordings).all()
    # No EEG: every recording gets the same guess, so the template scores chance.
    beat = ev.folds[ev.folds.model == "beat-template"]
    np.testing.assert_allclose(beat.feature_song_acc, beat.song_chance)
    summary = ev.summary(references=["beat-template"])
    assert {"feature_song_acc", "feature_song_acc_lo", "n_recordings"} <= set(summary.columns)
    # Tested by relabelling the songs: one guess for all recordings can never pass.
    assert (beat.feature_song_label_p == 1.0).all()
    pooled = summary.set_index("model").loc["beat-template"]
    assert pooled.n_songs == len(np.unique(data.stimulus))
    assert pooled.feature_song_label_p == 1.0
    tests = label_tests(ev.trials)
    assert tests.shape[0] == 2  # both models, one condition
    # Segments too: one guess for every trial (no EEG) can never pass either.
    n_segments = len(np.unique(segment_keys(data.stimulus, data.segment)))
    assert (tests.n_segments == n_segments).all() and (tests.feature_id_label_folds == 2).all()
    assert (tests.feature_id_label_p == 1.0).all() and (beat.feature_id_label_p == 1.0).all()
    # Paired against the beat template, one pair per recording.
    pairs = ev.comparisons(references=["beat-template"])
    song = pairs[(pairs.metric == "feature_song_acc") & (pairs.model == "mean-spectrum")]
    assert song.n_pairs.sum() == n_recordings


def test_recording_labels_separate_repetitions(simulated):
    data = simulated("mos")
    labels = recording_labels(data)
    key = list(zip(data.subject, data.stimulus, data.condition, data.repetition))
    assert len(np.unique(labels)) == len(set(key))
    # Without repetitions, one (subject, stimulus, condition) is one label.
    data.repetition = None
    assert len(np.unique(recording_labels(data))) == len(
        set(zip(data.subject, data.stimulus, data.condition))
    )


class _NoisyOracle(RegressorMixin, BaseEstimator):
    """A decoder that knows the truth: each trial's audio, and its true features plus noise.

    It finds a trial from its EEG (``eeg`` holds every trial), so it needs no
    fitting: a stand-in for a good EEG decoder.
    """

    def __init__(self, eeg=None, audio=None, features=None):
        self.eeg = eeg
        self.audio = audio
        self.features = features

    def fit(self, X, y):
        self.index_ = {x.tobytes(): i for i, x in enumerate(self.eeg)}
        return self

    def _rows(self, X):
        return [self.index_[x.tobytes()] for x in X]

    def predict(self, X):
        return self.audio[self._rows(X)]

    def predict_features(self, X):
        return self.features[self._rows(X)]


def test_feature_r_beat_gives_the_beat_template_nothing_and_keeps_a_decoder(simulated):
    """The issue-16 failure: the EEG-free beat template scores a clearly positive
    feature r. Beyond the beat template it scores exactly 0 (its features are the
    reference up to float32 rounding, which the partial r zeros by construction,
    so the bound is 0, not a tolerance), while a decoder with the true features plus
    noise keeps most of its r."""
    data = simulated("mos").select(condition="listening")
    F = metrics.feature_target(data.y, data.audio_sfreq, data.sfreq).astype(np.float64)
    # Noise with each band's own spread: plain r ~ 1/sqrt(2) = 0.71. Beyond the
    # template r ~ sqrt(f / (1 + f)), f the truth's variance share the template does
    # not explain: > 0.5 while the beat explains < 2/3 of the variance (~20% here).
    noise = np.random.default_rng(0).standard_normal(F.shape)
    oracle = _NoisyOracle(data.X, data.y, F + F.std(axis=-1, keepdims=True) * noise)
    models = {**_eeg_free_models(data.sfreq), "oracle": oracle}
    summary = evaluate_models(models, data, GroupKFold(2), progress=False).summary()
    summary = summary.set_index("model")
    assert summary.loc["beat-template", "feature_r"] > 0.1  # scores without EEG ...
    assert summary.loc["beat-template", "feature_r_beat"] == 0.0  # ... but not beyond the beat
    assert summary.loc["mean-spectrum", ["feature_r", "feature_r_beat"]].abs().max() < 1e-6
    assert summary.loc["oracle", "feature_r"] == pytest.approx(1 / np.sqrt(2), abs=0.05)
    assert summary.loc["oracle", "feature_r_beat"] > 0.5
    assert summary.loc["oracle", "p_feature_r_beat_vs_beat-template"] < 1e-6


def test_beat_reference_reads_the_training_audio_only(simulated, monkeypatch):
    data = simulated("mos").select(condition="listening")
    train, test = np.flatnonzero(data.subject != "sub-01"), np.flatnonzero(data.subject == "sub-01")
    args = (data.audio_sfreq, data.stimulus, data.segment, 32, data.X.shape[2])
    ref = beat_reference(data.y, *args, index=train)
    # What BeatTemplateBaseline fitted on the same trials predicts (float32 rounding apart).
    model = BeatTemplateBaseline(sfreq=data.sfreq).fit(data.X[train], data.y[train])
    np.testing.assert_allclose(ref, model.template_, atol=1e-5)
    # New test audio leaves the reference unchanged, directly ...
    changed = data.y.copy()
    changed[test] = np.random.default_rng(0).standard_normal(changed[test].shape)
    np.testing.assert_array_equal(beat_reference(changed, *args, index=train), ref)
    assert not np.allclose(beat_reference(changed, *args), beat_reference(data.y, *args))
    # ... and in the fold scoring, where it is computed.
    seen = []

    def spy(*a, reference=None, **kw):
        seen.append(reference)
        return score_trials(*a, reference=reference, **kw)

    monkeypatch.setattr(evaluation._folds, "score_trials", spy)
    model = BeatTemplateBaseline(sfreq=data.sfreq, n_iter=1)
    evaluation._folds._scored_fold(model, data, train, test)
    data.y = changed
    evaluation._folds._scored_fold(model, data, train, test)
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[0], seen[1])
    np.testing.assert_array_equal(seen[0], ref)


def test_beat_reference_bad_rate():
    y = np.zeros((2, 1000), dtype=np.float32)
    with pytest.raises(ValueError):
        beat_reference(y, 8000, np.array(["a", "a"]), np.arange(2), n_mels=8, n_frames=7)


def test_fold_rows_say_how_long_the_early_stopped_encoder_trained(simulated):
    # The GAN's fit time depends on when its encoder stopped: the fold table
    # says so for the GAN and for a null wrapping it, and nothing for a model
    # without an encoder stage.
    data = simulated("mos").select(condition="listening")
    gan = dict(preset="tiny", max_epochs=1, encoder_epochs=3, random_state=0)
    models = make_models(data.sfreq, ["gan", "shuffled-gan", "beat-template"], gan_params=gan)
    ev = evaluate_models(models, data, GroupKFold(2), max_folds=1, progress=False)
    rows = ev.folds.set_index("model")
    for name in ("gan", "shuffled-gan"):
        assert 1 <= rows.loc[name, "encoder_epochs"] <= 3
        assert 0 <= rows.loc[name, "encoder_best_epoch"] <= rows.loc[name, "encoder_epochs"]
    assert np.isnan(rows.loc["beat-template", "encoder_epochs"])
    assert "encoder_epochs" in ev.summary().columns
