"""The benchmark scripts' own logic: CSV merging by device (speed), splits and
tables (quality), registry names (encoder_lr, nmedt_rate), score tables and the
smallest end-to-end run (comparison).

The scripts are not a package: :func:`script` loads one by its path, so their
folder never goes on ``sys.path`` (its module names, ``linear``,
``preprocessing``, ..., would shadow others). The helpers they share are
tested in ``tests/test_benchmarking.py``.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def script():
    """``script(name)`` -> the module of ``benchmarks/<name>.py``, loaded once by path."""
    loaded = {}

    def load(name):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load


@pytest.fixture(scope="module")
def speed(script):
    return script("speed")


@pytest.fixture(scope="module")
def quality(script):
    return script("quality")


@pytest.fixture(scope="module")
def comparison(script):
    return script("comparison")


def row(device, measurement, value, section="gan", **extra):
    base = dict(
        device=device,
        section=section,
        measurement=measurement,
        value=value,
        unit="audio-s/s",
        target="≥ 20",
        status="met" if value >= 20.0 else "missed",  # what speed.check gives
        notes="",
        wall_s=1.0,
        cpu_s=2.0,
        load_avg=0.5,
        command="python benchmarks/speed.py",
        date="2026-11-26",
        machine="2 cores",
        version="0.1.0",
    )
    return {**base, **extra}


CPU, GPU = "CPU 2 threads (Xeon)", "CUDA NVIDIA H100"


def test_merge_keeps_other_device_and_replaces_same_key(speed):
    old = pd.DataFrame(
        [row(CPU, "train", 10.0), row(GPU, "train", 900.0), row(CPU, "demo", 100.0, "demo")]
    )
    new = pd.DataFrame([row(CPU, "train", 25.0)])
    merged = speed.merge_rows(old, new)
    assert len(merged) == 3
    got = merged.set_index(["device", "measurement"])["value"]
    assert got[(CPU, "train")] == 25.0  # replaced by the new run
    assert got[(GPU, "train")] == 900.0  # another device: kept
    assert got[(CPU, "demo")] == 100.0  # same device, not re-measured: kept
    assert merged.loc[merged["measurement"].eq("train") & merged["device"].eq(CPU)][
        "status"
    ].item() == ("met")
    # Sections in their fixed order within a device: gan before demo.
    cpu_rows = merged[merged["device"] == CPU]["section"].tolist()
    assert cpu_rows == ["gan", "demo"]
    assert list(merged.columns) == speed.COLUMNS


def test_merge_with_nothing_before_and_nothing_new(speed):
    new = pd.DataFrame([row(GPU, "train", 900.0)])
    assert speed.merge_rows(None, new)["value"].tolist() == [900.0]
    assert speed.merge_rows(new, None)["value"].tolist() == [900.0]
    assert speed.merge_rows(None, None).empty


def test_check_operators(speed):
    assert speed.check(20.0, ">=", 20.0) == "met"
    assert speed.check(19.9, ">=", 20.0) == "missed"
    assert speed.check(1.3, "<=", 1.3) == "met"
    assert speed.check(1.0, "<", 1.0) == "missed"
    with pytest.raises(KeyError):
        speed.check(1.0, "==", 1.0)


def test_markdown_table_one_table_per_run_every_row_once(speed):
    rows = speed.merge_rows(
        None,
        pd.DataFrame(
            [
                row(CPU, "a | b", 10.0),
                row(CPU, "demo", 100.0, "demo", command="python benchmarks/speed.py --only demo"),
                row(GPU, "train", 900.0, target=""),
            ]
        ),
    )
    table = speed.markdown_table(rows)
    body = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    headers = [line for line in body if line.startswith("| measurement")]
    assert len(headers) == 3  # CPU quick run, CPU demo run, GPU run
    assert len(body) - len(headers) == len(rows)
    assert all(line.count(" | ") == headers[0].count(" | ") for line in body)
    assert "a \\| b" in table
    assert "**missed**" in table  # 10 < 20
    assert f"**{CPU}** — `python benchmarks/speed.py --only demo`" in table
    assert table.index(f"**{CPU}**") < table.index(f"**{GPU}**")


def test_write_outputs_round_trip_keeps_gpu_rows(speed, tmp_path):
    csv, doc = tmp_path / "speed.csv", tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nintro\n\n<!-- speed -->\nstale\n<!-- /speed -->\n\nend\n")
    speed.write_outputs(pd.DataFrame([row(GPU, "train", 900.0)]), csv, doc)
    speed.write_outputs(pd.DataFrame([row(CPU, "train", 25.0)]), csv, doc)
    merged = pd.read_csv(csv)
    assert sorted(merged["device"]) == sorted([CPU, GPU])
    text = doc.read_text()
    assert "stale" not in text and text.startswith("# Benchmarks\n\nintro\n") and "end" in text
    block = text.split("<!-- speed -->")[1].split("<!-- /speed -->")[0]
    assert GPU in block and CPU in block
    # Merging another machine's CSV (what benchmarks/gpu.sh brings back) does the same.
    other = tmp_path / "gpu.csv"
    pd.DataFrame([row(GPU, "train", 950.0)]).to_csv(other, index=False)
    speed.main(["--merge-only", str(other), "--csv", str(csv), "--doc", str(doc)])
    got = pd.read_csv(csv).set_index("device")["value"]
    assert got[GPU] == 950.0 and got[CPU] == 25.0


def test_recorder_flags_rows_measured_on_an_oversubscribed_machine(speed, monkeypatch):
    monkeypatch.setattr(speed.os, "cpu_count", lambda: 2)
    rec = speed.Recorder("python benchmarks/speed.py")
    target = (">=", 20.0, "≥ 20")
    rec.add(CPU, "gan", "busy", 25.0, "audio-s/s", target, "n", wall_s=1, cpu_s=1, load_avg=5.0)
    rec.add(CPU, "gan", "idle", 15.0, "audio-s/s", target, "", wall_s=1, cpu_s=1, load_avg=1.0)
    busy, idle = rec.rows
    assert busy["status"] == "met" and busy["notes"].startswith("n; oversubscribed (load 5.0")
    assert idle["status"] == "missed" and idle["notes"] == ""
    assert set(speed.COLUMNS) <= set(busy)


def test_speed_loads_sibling_scripts_by_path_without_touching_sys_path(speed):
    import sys

    path = list(sys.path)
    linear = speed.sibling("linear")
    assert callable(linear.bench_alpha_path)
    assert speed.sibling("linear") is linear  # loaded once
    assert linear.__name__ == "bench_linear" and "linear" not in sys.modules
    assert sys.path == path


# ---------------------------------------------------------------- quality


@pytest.mark.parametrize("n_subjects, k", [(4, 2), (5, 2), (8, 4), (9, 4), (10, 5), (20, 5)])
def test_group_k_holds_out_at_least_two_subjects(quality, n_subjects, k):
    assert quality.group_k(n_subjects) == k
    groups = np.repeat(np.arange(n_subjects), 3)
    folds = list(quality.splits(n_subjects, 0)[f"gkf{k}"].split(groups, None, groups))
    assert len(folds) == k
    for train, test in folds:
        assert len(np.unique(groups[test])) >= 2  # not leave-one-subject-out renamed
        assert not set(groups[train]) & set(groups[test])


def test_group_k_rejects_too_few_subjects(quality):
    with pytest.raises(ValueError, match="at least 4 subjects"):
        quality.group_k(3)
    assert not any(name.startswith("gkf") for name in quality.splits(3, 0))


def test_quality_models_are_registry_names_and_cuda_uses_the_gpu_preset(quality):
    from sk_eeg2music.pipelines import MODELS

    assert set(quality.DEFAULT_MODELS) <= set(MODELS)
    assert quality.gan_params("cpu") == {"device": "cpu"}
    assert quality.gan_params("cuda:0") == {"device": "cuda:0", "preset": "gpu"}
    assert quality.gan_params("cpu", 3) == {"device": "cpu", "decoder_steps": 3}
    args = quality.parse_args(["--models", "gan", "beat-template"])
    assert args.models == ["gan", "beat-template"]
    with pytest.raises(SystemExit):  # the old display names are gone
        quality.parse_args(["--models", "Linear (mel)"])


def test_quality_table_formats_intervals_and_missing_metrics(quality):
    summary = pd.DataFrame(
        {
            "data": ["simulated mos"] * 2,
            "split": ["loso", "loso"],
            "condition": ["listening", "imagery"],
            "model": ["gan", "beat-template"],
            "n_folds": [4, 4],
            "feature_r": [0.1234, np.nan],
            "feature_r_lo": [0.05, np.nan],
            "feature_r_hi": [0.2, np.nan],
            "feature_r_beat": [0.05, np.nan],
            "feature_id_acc": [0.25, 0.125],
            "id_chance": [0.125, 0.125],
            "mel_r": [0.3, 0.2],
            "mel_r_lo": [0.1, 0.15],
            "mel_r_hi": [0.5, 0.25],
            "mm_acc": [0.6, 0.5],
            "song_acc": [0.5, 0.25],
            "song_chance": [0.25, 0.25],
        }
    )
    table = quality.quality_table(summary)
    assert list(table.columns) == quality.TABLE_COLUMNS
    first, second = table.to_dict("records")
    assert first["feature r [95% CI]"] == "0.123 [0.050, 0.200]"
    assert first["feature id (chance)"] == "0.250 (0.125)"
    assert first["feature r beyond beat"] == "0.050" and second["feature r beyond beat"] == "–"
    assert first["folds"] == 4
    assert second["feature r [95% CI]"] == "–"
    assert second["mel r [95% CI]"] == "0.200 [0.150, 0.250]"


@pytest.mark.slow  # ~10 s on 2 shared cores: simulation and scoring at 8 kHz
def test_quality_main_smallest_run_writes_csv_and_its_own_block(quality, tmp_path):
    csv, doc = tmp_path / "quality.csv", tmp_path / "benchmarks.md"
    doc.write_text("# B\n\n<!-- quality-cuda -->\ngpu rows\n<!-- /quality-cuda -->\n")
    argv = [
        "--quick", "--kinds", "mos", "--splits", "loso", "within", "--n-subjects", "2",
        "--models", "beat-template", "mean-spectrum", "--n-jobs", "1", "--n-iter", "2",
        "--max-folds", "1", "--audio-sfreq", "8000", "--csv", str(csv), "--doc", str(doc),
    ]  # fmt: skip
    assert quality.main(argv) == 0
    folds = pd.read_csv(csv)
    assert set(folds["split"]) == {"loso", "within"}
    assert set(folds["model"]) == {"beat-template", "mean-spectrum"}
    assert folds["device"].str.startswith("CPU").all()
    assert folds.groupby(["split", "model", "condition"]).size().eq(1).all()  # --max-folds 1
    text = doc.read_text()
    assert "<!-- quality-cuda -->\ngpu rows\n<!-- /quality-cuda -->" in text  # kept
    block = text.split("<!-- quality -->")[1].split("<!-- /quality -->")[0]
    assert "`python benchmarks/quality.py --quick --kinds mos" in block
    assert "| data | split | condition | model | folds |" in block
    # Two splits x two models x two conditions.
    assert block.count("| simulated mos |") == 8


# ---------------------------------------------------------------- encoder_lr, nmedt_rate


def test_encoder_lr_models_set_lr_encoder_on_every_gan(script):
    encoder_lr = script("encoder_lr")
    models = encoder_lr.models(64.0, epochs=3, seed=0, gan_params={"decoder_steps": 1})
    assert list(models) == [
        "gan, lr_encoder=3e-3 (default)",
        "shuffled-gan, lr_encoder=3e-3 (default)",
        "gan, lr_encoder=None",
        "shuffled-gan, lr_encoder=None",
        "linear-mel",
    ]
    for name, est in models.items():
        if name == "linear-mel":
            continue
        gan = (est.estimator if name.startswith("shuffled") else est)[-1]
        assert gan.lr_encoder == encoder_lr.SETTINGS[name.split(", ", 1)[1]]
        assert gan.decoder_steps == 1 and gan.max_epochs == 3


def test_nmedt_rate_models_resample_in_the_front_end(script):
    from sk_eeg2music.pipelines import front_end_sfreq

    nmedt_rate = script("nmedt_rate")
    models = nmedt_rate.rate_models(125.0, [125.0, 64.0], ["linear-envelope"])
    assert list(models) == ["linear-envelope @ 125 Hz", "linear-envelope @ 64 Hz"]
    assert [m[-1].sfreq for m in models.values()] == [125.0, 64.0]
    assert front_end_sfreq(125.0, {"resample": 64.0}) == 64.0
    summary = pd.DataFrame({"model": ["a"], "n_folds": [2], "mel_r": [0.1], "fit_seconds": [12.6]})
    table = nmedt_rate.rate_table(summary)
    assert list(table.columns) == list(nmedt_rate.COLUMNS.values())
    assert table.iloc[0].tolist() == ["a", 2, "–", "0.100", "–", "–", "–", "13"]


# ---------------------------------------------------------------- comparison


def test_comparison_main_smallest_run_writes_table_csvs_and_doc_block(comparison, tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nkept\n")
    argv = [
        "--n-subjects", "2", "--n-repetitions", "1", "--stimulus-seconds", "4",
        "--segment-seconds", "1", "--conditions", "listening", "--split", "gkf2",
        "--models", "beat-template", "mean-spectrum", "--n-jobs", "1", "--n-iter", "2",
        "--out-dir", str(tmp_path), "--doc", str(doc), "--quiet",
    ]  # fmt: skip
    scores, pvalues, summary = comparison.main(argv)
    assert list(scores.columns) == comparison.TABLE_COLUMNS
    assert scores["model"].tolist() == ["beat-template", "mean-spectrum"]
    # Both folds ran: every trial of both subjects was tested once.
    assert summary["n_folds"].tolist() == [2, 2]
    assert summary["n_subjects"].tolist() == [2, 2]
    # No EEG: chance match-mismatch at the feature level.
    assert np.allclose(summary["feature_mm_acc"], 0.5, atol=0.1)
    assert "feature_r vs beat-template" in pvalues.columns
    assert (tmp_path / "comparison_mos_summary.csv").exists()
    assert (tmp_path / "comparison_mos_comparisons.csv").exists()
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n")
    block = text.split("<!-- comparison-mos -->")[1]
    # Two tables (feature level, waveform level) and the p-values.
    assert "| model | condition | seeds | feature r [95% CI] |" in block
    assert "| model | condition | mel r | mm |" in block
    assert "Against `beat-template`:\n\n| model | condition | feature_r |" in block
    assert "| model | fits | fit + predict min (mean, range) | encoder epochs run" in block


def test_comparison_training_table_counts_fits_once_and_reads_encoder_epochs(comparison):
    # Fold rows repeat each fit per condition; shards before the encoder columns
    # existed have none, and the table says how many fits were recorded.
    from sk_eeg2music.evaluation import Evaluation

    def ev(seed, epochs):
        folds = pd.DataFrame(
            dict(
                model=["gan", "gan", "beat-template", "beat-template"],
                fold=[0, 0, 0, 0],
                condition=["listening", "imagery"] * 2,
                fit_seconds=[600.0, 600.0, 6.0, 6.0],
                seed=seed,
                **({} if epochs is None else dict(
                    encoder_epochs=[epochs, epochs, np.nan, np.nan],
                    encoder_best_epoch=[epochs - 8] * 2 + [np.nan] * 2,
                )),
            )
        )  # fmt: skip
        return Evaluation(folds=folds, trials=pd.DataFrame(), predictions=None, split="gkf5")

    table = comparison.training_table([ev(0, 20), ev(1, None), ev(2, 30)]).set_index("model")
    assert table.loc["gan", "fits"] == 3 and table.loc["beat-template", "fits"] == 3
    assert table.loc["gan", "fit + predict min (mean, range)"] == "10.0 (10.0–10.0)"
    gan_epochs = table.loc["gan", "encoder epochs run (mean, range)"]
    assert gan_epochs == "25.0 (20–30, 2 of 3 fits recorded)"
    assert table.loc["gan", "epoch kept (mean)"] == "17.0"
    assert table.loc["beat-template", "encoder epochs run (mean, range)"] == "–"


_TINY = [
    "--n-subjects", "3", "--n-repetitions", "1", "--stimulus-seconds", "4",
    "--segment-seconds", "1", "--conditions", "listening", "--split", "gkf3",
    "--n-jobs", "1", "--n-iter", "2", "--quiet",
]  # fmt: skip


def test_comparison_fold_shards_merge_into_the_full_run(comparison, tmp_path):
    models = ["--models", "beat-template", "mean-spectrum"]
    out = ["--out-dir", str(tmp_path), "--doc", str(tmp_path / "b.md")]
    _, _, full = comparison.main([*_TINY, *models, *out, "--prefix", "full"])
    comparison.main([*_TINY, *models, *out, "--prefix", "a", "--folds", "2", "--no-doc"])
    comparison.main([*_TINY, *models, *out, "--prefix", "b", "--folds", "0", "1", "--no-doc"])
    # The merge re-reads the design from the shards: no design options needed.
    _, _, merged = comparison.main(["--merge", "a", "b", "--prefix", "m", "--quiet", *out])
    timing = [c for c in full.columns if "seconds" in c]  # wall time, not a score
    assert timing  # the check below must not compare timings
    pd.testing.assert_frame_equal(
        merged.drop(columns=timing), full.drop(columns=timing), check_exact=False, rtol=1e-9
    )
    block = (tmp_path / "b.md").read_text().split("<!-- m -->")[1]
    assert "Merged from 2 shard(s)" in block and "--folds 0 1" in block and "--merge a b" in block
    assert "Folds covered: all, for every model and seed" in block
    assert "- beat-template: seed 0 all 3 folds" in block
    assert f"`{tmp_path.resolve().as_posix()}/m_summary.csv`" in block  # outside the repo: as is


def test_comparison_partial_shard_is_labelled_partial(comparison, tmp_path):
    out = ["--out-dir", str(tmp_path), "--doc", str(tmp_path / "b.md")]
    comparison.main([*_TINY, "--models", "beat-template", *out, "--prefix", "p", "--folds", "1"])
    block = (tmp_path / "b.md").read_text().split("<!-- p -->")[1]
    assert "**not all** (a partial run)" in block
    assert "- beat-template: seed 0 folds 1 (of 3)" in block


def test_comparison_merge_refuses_other_designs_and_overlaps(comparison, tmp_path):
    out = ["--out-dir", str(tmp_path), "--no-doc"]
    run = [*_TINY, "--models", "beat-template", *out]
    comparison.main([*run, "--prefix", "a", "--folds", "0"])
    comparison.main([*run, "--prefix", "b", "--folds", "0", "1"])
    comparison.main([*run, "--prefix", "c", "--folds", "2", "--n-iter", "4"])
    with pytest.raises(ValueError, match="several shards"):
        comparison.main(["--merge", "a", "b", *out, "--quiet"])
    with pytest.raises(ValueError, match=r"differs from 'a' in \['n_iter'\]"):
        comparison.main(["--merge", "a", "c", *out, "--quiet"])
    with pytest.raises(FileNotFoundError, match="shard 'nope' is incomplete"):
        comparison.main(["--merge", "a", "nope", *out, "--quiet"])
    with pytest.raises(SystemExit):
        comparison.parse_args(["--merge", "a", "--folds", "0"])
    # Leaving out the model scored twice resolves the overlap.
    run2 = [*_TINY, "--models", "mean-spectrum", *out]
    comparison.main([*run2, "--prefix", "d", "--folds", "1", "2"])
    _, _, summary = comparison.main(["--merge", "a", "d", "--models", "mean-spectrum", *out])
    assert summary["model"].tolist() == ["mean-spectrum"]
    with pytest.raises(ValueError, match="hold no scores"):
        comparison.main(["--merge", "a", "--models", "gan", *out, "--quiet"])
    # ... and so does taking only some models from one shard.
    _, _, summary = comparison.main(["--merge", "a:mean-spectrum", "b", "d", *out, "--quiet"])
    assert summary["model"].tolist() == ["beat-template", "mean-spectrum"]


@pytest.mark.parametrize(("kind", "n_repetitions"), [("mos", 2), ("nmedt", 1)])
def test_comparison_default_repetitions_follow_the_real_design(comparison, kind, n_repetitions):
    # NMED-T presents each song once: a second repetition is not its design.
    kwargs = comparison.design_kwargs(comparison.parse_args(["--kind", kind]))
    assert kwargs["n_repetitions"] == n_repetitions
    explicit = comparison.parse_args(["--kind", kind, "--n-repetitions", "3"])
    assert comparison.design_kwargs(explicit)["n_repetitions"] == 3


def test_comparison_resamples_every_models_front_end(comparison, tmp_path, monkeypatch):
    seen = []
    make = comparison.make_models

    def spy(*args, **kwargs):
        models = make(*args, **kwargs)
        seen.extend(m.get_params().get("resample__new_sfreq") for m in models.values())
        return models

    monkeypatch.setattr(comparison, "make_models", spy)
    doc = tmp_path / "benchmarks.md"
    argv = [
        "--kind", "nmedt", "--n-subjects", "2", "--stimulus-seconds", "4",
        "--segment-seconds", "1", "--split", "gkf2", "--resample", "64",
        "--models", "linear-envelope", "--n-jobs", "1",
        "--out-dir", str(tmp_path), "--doc", str(doc), "--quiet",
    ]  # fmt: skip
    _, _, summary = comparison.main(argv)
    assert seen == [64.0] and summary["n_folds"].tolist() == [2]
    assert "EEG resampled from 125 to 64 Hz in every model's front end" in doc.read_text()


def _summary_row(**extra):
    base = dict(
        model="gan", condition="listening", n_seeds=1, feature_r=0.2, feature_r_lo=0.1,
        feature_r_hi=0.3, feature_id_acc=0.5, id_chance=0.125, feature_mm_acc=0.7,
        mel_r=0.05, mm_acc=0.6, song_acc=0.5, song_chance=0.25, fmd=10.0, fmd_floor=5.0,
    )  # fmt: skip
    return {**base, **extra}


def test_comparison_score_table_feature_r_beyond_beat(comparison):
    without = comparison.score_table(pd.DataFrame([_summary_row()]))
    assert without.loc[0, "feature r beyond beat [95% CI]"] == "–"
    assert without.loc[0, "feature r [95% CI]"] == "0.200 [0.100, 0.300]"
    beat = dict(feature_r_beat=0.08, feature_r_beat_lo=0.01, feature_r_beat_hi=0.15)
    with_beat = comparison.score_table(pd.DataFrame([_summary_row(**beat)]))
    assert with_beat.loc[0, "feature r beyond beat [95% CI]"] == "0.080 [0.010, 0.150]"
    # Several seeds: mean ± sd.
    seeds = comparison.score_table(
        pd.DataFrame([_summary_row(n_seeds=3, feature_r_beat_sd=0.02, **beat)])
    )
    assert seeds.loc[0, "feature r beyond beat [95% CI]"] == "0.080 ± 0.020 [0.010, 0.150]"
    # Song identification of whole recordings: "–" for shards that predate it.
    assert without.loc[0, "song id per recording"] == "–"
    song = dict(feature_song_acc=0.4, feature_song_acc_lo=0.3, feature_song_acc_hi=0.5)
    rec = comparison.score_table(pd.DataFrame([_summary_row(**song)]))
    assert rec.loc[0, "song id per recording"] == "0.400 [0.300, 0.500]"
    # With the guesses kept: the song-relabelling p beside it.
    labelled = comparison.score_table(
        pd.DataFrame([_summary_row(feature_song_label_p=1 / 24, **song)])
    )
    assert labelled.loc[0, "song id per recording"] == "0.400 [0.300, 0.500]; songs p 0.042"
    # Segment identification: the segment-relabelling p, and its folds where fewer than all.
    seg = dict(feature_id_acc=0.151, id_chance=0.036, feature_id_label_p=1e-4, n_folds=5)
    full = comparison.score_table(pd.DataFrame([_summary_row(feature_id_label_folds=5, **seg)]))
    assert full.loc[0, "feature id (chance)"] == "0.151 (0.036); segments p <0.001"
    part = comparison.score_table(pd.DataFrame([_summary_row(feature_id_label_folds=3, **seg)]))
    assert part.loc[0, "feature id (chance)"] == "0.151 (0.036); segments p <0.001 (3 folds)"
    # Each of the doc's two tables is a subset of the score table's columns.
    assert set(comparison.FEATURE_COLUMNS) | set(comparison.WAVEFORM_COLUMNS) == set(
        comparison.TABLE_COLUMNS
    )


def test_comparison_p_table_shows_feature_r_beat_only_when_present(comparison):
    row = _summary_row(**{"p_feature_r_vs_beat-template": 0.0004})
    assert list(comparison.p_table(pd.DataFrame([row])).columns) == [
        "model",
        "condition",
        "feature_r vs beat-template",
    ]
    row["p_feature_r_beat_vs_beat-template"] = 0.03
    table = comparison.p_table(pd.DataFrame([row]))
    assert table.loc[0, "feature_r vs beat-template"] == "<0.001"
    assert table.loc[0, "feature_r_beat vs beat-template"] == "0.030"
    # The doc shows one narrow table per reference present.
    row["p_mm_acc_vs_reduced-rank"] = 0.5
    tables = comparison.p_tables_by_reference(comparison.p_table(pd.DataFrame([row])))
    assert list(tables) == ["reduced-rank", "beat-template"]
    assert list(tables["reduced-rank"].columns) == ["model", "condition", "mm"]
    assert list(tables["beat-template"].columns) == [
        "model",
        "condition",
        "feature_r",
        "feature_r_beat",
    ]


def test_comparison_split_labels(comparison):
    assert comparison.make_split("gkf4").get_n_splits() == 4
    assert type(comparison.make_split("loso")).__name__ == "LeaveOneGroupOut"
    with pytest.raises(ValueError, match="split"):
        comparison.make_split("kfold")


# ------------------------------------------------------------ finetune_stages

_STAGES_TINY = [
    "--n-subjects", "3", "--n-repetitions", "1", "--stimulus-seconds", "4",
    "--segment-seconds", "1", "--audio-sfreq", "8000", "--conditions", "listening",
    "--n-splits", "3", "--preset", "tiny",
]  # fmt: skip


def test_finetune_stages_scores_each_stage_and_the_frozen_encoder_keeps_features(script, tmp_path):
    stages = script("finetune_stages")
    doc = tmp_path / "b.md"
    argv = [*_STAGES_TINY, "--fold", "1", "--epochs", "2", "--doc", str(doc), "--quiet"]
    table = stages.main(argv)
    assert table["stage"].tolist() == [
        "stages 1-3",
        "fine-tuning epoch 1 (warm-up, no adversarial)",
        "fine-tuning epoch 2 (adversarial)",
    ]
    # By default the fine-tuning epochs leave the decoded log-mel alone.
    feature_cols = ["feature_r", "feature_id_acc", "feature_mm_acc"]
    assert np.allclose(table[feature_cols].to_numpy(), table[feature_cols].iloc[0].to_numpy())
    assert np.isfinite(table["fmd"]).all() and np.isfinite(table["fmd_floor"]).all()
    assert "<!-- finetune-stages-mos -->" in doc.read_text()
    with pytest.raises(ValueError, match="--fold must lie in"):
        stages.main([*argv[:-3], "--fold", "7", "--no-doc", "--quiet"])


def test_finetune_stages_runs_an_ablation_into_its_own_block(script, tmp_path):
    stages = script("finetune_stages")
    doc = tmp_path / "b.md"
    argv = [*_STAGES_TINY, "--epochs", "1", "--doc", str(doc), "--quiet"]
    table = stages.main([*argv, "--model", "gan-recon-only", "--prior-weights", "0"])
    assert table["stage"].tolist() == [
        "stages 1-3",
        "fine-tuning epoch 1 (no adversarial loss)",
        "fine-tuned, prior_weight=0 (own 0.8)",
    ]
    # The prior acts on the audio only: the decoded log-mel is the same.
    feature_cols = ["feature_r", "feature_id_acc", "feature_mm_acc"]
    assert np.allclose(table[feature_cols].iloc[1], table[feature_cols].iloc[2])
    text = doc.read_text()
    assert "<!-- finetune-stages-mos-recon-only -->" in text and "`gan-recon-only`" in text
    assert stages.parse_args(["--finetune-encoder"]).model == "gan-finetune-encoder"
    with pytest.raises(SystemExit):
        stages.parse_args(["--finetune-encoder", "--model", "gan-l1-encoder"])
    with pytest.raises(SystemExit):
        stages.parse_args(["--prior-weights", "1.5"])


# ------------------------------------------------------------------ gan_speed


@pytest.mark.parametrize("finetune_encoder", [False, True])
def test_gan_speed_plain_epoch_trains_what_the_skorch_epoch_trains(
    script, finetune_encoder, monkeypatch
):
    # The skorch-overhead figure compares like with like only if the plain-torch
    # loop updates the same parameters as EEG2MusicGAN.train_step.
    import torch

    from sk_eeg2music import EEG2MusicGAN
    from sk_eeg2music.models.gan import estimator as gan_estimator

    gan_speed = script("gan_speed")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 32)).astype(np.float32)
    y = (0.1 * rng.standard_normal((6, 32 * 16))).astype(np.float32)
    net = EEG2MusicGAN(
        preset="tiny", sfreq=32.0, max_epochs=0, warmup_epochs=0, crop_seconds=0.5,
        batch_size=3, verbose=0, random_state=0, finetune_encoder=finetune_encoder,
    ).fit(X, y)  # fmt: skip
    encoder = [p.detach().clone() for p in net.module_.encoder_parameters()]
    decoder = [p.detach().clone() for p in net.module_.decoder_parameters()]
    modes, encode = [], gan_estimator.encode_mel

    def spy(module, x, *args):
        modes.append((torch.is_grad_enabled(), module.training))
        return encode(module, x, *args)

    monkeypatch.setattr(gan_estimator, "encode_mel", spy)
    gan_speed.plain_torch_epoch(net, X, y)
    # Frozen: the encoder runs as at prediction (no autograd, no dropout).
    assert set(modes) == {(finetune_encoder, finetune_encoder)}
    moved = [not torch.equal(a, b) for a, b in zip(encoder, net.module_.encoder_parameters())]
    assert any(moved) == finetune_encoder
    assert any(not torch.equal(a, b) for a, b in zip(decoder, net.module_.decoder_parameters()))


def test_gan_speed_counts_the_page_faults_of_each_timed_call(script):
    # The faults column is what explains the skorch/plain gap under glibc's
    # default allocator; touching 64 MiB of fresh memory must register (as
    # 2-MiB huge pages at least, where the kernel uses them).
    gan_speed = script("gan_speed")
    wall, cpu, faults = gan_speed._timed(lambda: np.ones(2**23), "cpu")
    assert wall >= 0 and cpu >= 0
    assert faults >= 32
    assert gan_speed._timed(lambda: None, "cpu")[2] < 32


def test_gan_speed_rejects_an_unknown_allocator_setting(script):
    with pytest.raises(ValueError, match="malloc must be"):
        script("gan_speed").measure_gan(malloc="jemalloc")


def test_comparison_seed_spread_uses_the_folds_every_seed_covers(comparison):
    # Seed 1 ran on fold 0 only (a shard): its spread against seed 0 must not
    # include seed 0's very different fold 1.
    from sk_eeg2music.evaluation import Evaluation

    def ev(seed, fold_values):
        trials, folds = [], []
        for fold, value in fold_values.items():
            for trial in range(6):
                trials.append(
                    dict(
                        model="gan", split="gkf2", fold=fold, condition="listening",
                        trial=10 * fold + trial, subject=f"sub-{fold}{trial % 3}", stimulus="a",
                        segment=trial, feature_r=value + 0.01 * trial, seed=seed,
                    )
                )  # fmt: skip
            folds.append(
                dict(model="gan", split="gkf2", fold=fold, condition="listening",
                     test_subjects=f"sub-{fold}", fit_seconds=1.0, seed=seed)
            )  # fmt: skip
        return Evaluation(pd.DataFrame(folds), pd.DataFrame(trials), None, "gkf2")

    pooled, per_seed = comparison.pool_seeds([ev(0, {0: 0.10, 1: 0.50}), ev(1, {0: 0.12})])
    means = per_seed.set_index("seed")["feature_r"]
    assert means[0] == pytest.approx(0.125) and means[1] == pytest.approx(0.145)
    # The pooled trials still hold every fold (fold 0 as the seeds' mean).
    assert sorted(pooled.trials["fold"].unique()) == [0, 1]
    assert pooled.trials.loc[pooled.trials.fold == 0, "feature_r"].iloc[0] == pytest.approx(0.11)


def test_comparison_pooled_seeds_keep_the_lowest_seeds_song_guess(comparison):
    from sk_eeg2music.evaluation import Evaluation

    def ev(seed, guesses):
        trials = [
            dict(
                model="gan", split="gkf2", fold=0, condition="imagery", trial=i,
                subject=f"sub-{i % 2}", stimulus=song, segment=0, feature_song_acc=1.0,
                feature_song_guess=guess, feature_id_guess=f"{guess}#0", seed=seed,
            )
            for i, (song, guess) in enumerate(zip("abcd", guesses))
        ]  # fmt: skip
        folds = [dict(model="gan", split="gkf2", fold=0, condition="imagery",
                      test_subjects="sub-0,sub-1", fit_seconds=1.0, seed=seed)]  # fmt: skip
        return Evaluation(pd.DataFrame(folds), pd.DataFrame(trials), None, "gkf2")

    pooled, _ = comparison.pool_seeds([ev(1, "bcda"), ev(0, "abcd")])
    assert pooled.trials["feature_song_guess"].tolist() == list("abcd")  # seed 0's
    summary, _ = comparison.summarize_run([ev(1, "bcda"), ev(0, "abcd")])
    assert summary.loc[0, "feature_song_label_p"] == pytest.approx(1 / 24)
    assert pooled.trials["feature_id_guess"].tolist() == ["a#0", "b#0", "c#0", "d#0"]
    assert summary.loc[0, "feature_id_label_p"] == pytest.approx(1 / 24)
