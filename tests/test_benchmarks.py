"""The bookkeeping of the benchmark scripts: CSV merging by device, the markdown
block, and the splits of ``benchmarks/quality.py``.

Pure functions only: no measurement runs here.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
_saved_path = list(sys.path)
sys.path.insert(0, str(BENCH))
import quality  # noqa: E402
import speed  # noqa: E402
from _doc import replace_block, write_doc  # noqa: E402

# The scripts' folder off the path again: its module names (linear, preprocessing,
# ...) must not shadow anything for the other tests.
sys.path[:] = _saved_path


def row(device, measurement, value, section="gan", **extra):
    base = dict(
        device=device,
        section=section,
        measurement=measurement,
        value=value,
        unit="audio-s/s",
        target="≥ 20",
        status=speed.check(value, ">=", 20.0),
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


def test_merge_keeps_other_device_and_replaces_same_key():
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


def test_merge_with_nothing_before_and_nothing_new():
    new = pd.DataFrame([row(GPU, "train", 900.0)])
    assert speed.merge_rows(None, new)["value"].tolist() == [900.0]
    assert speed.merge_rows(new, None)["value"].tolist() == [900.0]
    assert speed.merge_rows(None, None).empty


def test_check_operators():
    assert speed.check(20.0, ">=", 20.0) == "met"
    assert speed.check(19.9, ">=", 20.0) == "missed"
    assert speed.check(1.3, "<=", 1.3) == "met"
    assert speed.check(1.0, "<", 1.0) == "missed"
    with pytest.raises(KeyError):
        speed.check(1.0, "==", 1.0)


def test_markdown_table_one_table_per_run_every_row_once():
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


def test_replace_block_keeps_surroundings():
    doc = "# T\n\nbefore\n<!-- speed -->\nold table\n<!-- /speed -->\nafter\n"
    out = replace_block(doc, "speed", "new table")
    assert out == "# T\n\nbefore\n<!-- speed -->\nnew table\n<!-- /speed -->\nafter\n"
    # Another marker block is left alone; a missing one is appended.
    both = replace_block(out, "quality", "q")
    assert both.startswith(out.rstrip()) and both.endswith(
        "<!-- quality -->\nq\n<!-- /quality -->\n"
    )
    assert replace_block(both, "speed", "x").count("<!-- speed -->") == 1
    assert "<!-- quality -->\nq\n" in replace_block(both, "speed", "x")


def test_write_outputs_round_trip_keeps_gpu_rows(tmp_path):
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


def test_write_doc_creates_missing_file(tmp_path):
    path = tmp_path / "new.md"
    write_doc("t", marker="speed", path=path)
    assert path.read_text().strip() == "<!-- speed -->\nt\n<!-- /speed -->"


def test_recorder_flags_rows_measured_on_an_oversubscribed_machine(monkeypatch):
    monkeypatch.setattr(speed.os, "cpu_count", lambda: 2)
    rec = speed.Recorder("python benchmarks/speed.py")
    target = (">=", 20.0, "≥ 20")
    rec.add(CPU, "gan", "busy", 25.0, "audio-s/s", target, "n", wall_s=1, cpu_s=1, load_avg=5.0)
    rec.add(CPU, "gan", "idle", 15.0, "audio-s/s", target, "", wall_s=1, cpu_s=1, load_avg=1.0)
    busy, idle = rec.rows
    assert busy["status"] == "met" and busy["notes"].startswith("n; oversubscribed (load 5.0")
    assert idle["status"] == "missed" and idle["notes"] == ""
    assert set(speed.COLUMNS) <= set(busy)


@pytest.mark.parametrize("n_subjects, k", [(4, 2), (5, 2), (8, 4), (9, 4), (10, 5), (20, 5)])
def test_group_k_holds_out_at_least_two_subjects(n_subjects, k):
    assert quality.group_k(n_subjects) == k
    groups = np.repeat(np.arange(n_subjects), 3)
    folds = list(quality.splits(n_subjects, 0)[f"gkf{k}"].split(groups, None, groups))
    assert len(folds) == k
    for train, test in folds:
        assert len(np.unique(groups[test])) >= 2  # not leave-one-subject-out renamed
        assert not set(groups[train]) & set(groups[test])


def test_group_k_rejects_too_few_subjects():
    with pytest.raises(ValueError, match="at least 4 subjects"):
        quality.group_k(3)
    assert not any(name.startswith("gkf") for name in quality.splits(3, 0))


def test_within_subject_split_is_time_disjoint_inside_one_subject():
    groups = np.repeat(["s1", "s2"], 6)
    segment = np.array([f"song{i % 2}/{i // 2}" for i in range(6)] * 2)
    folds = list(quality.WithinSubjectTimeSplit(n_splits=2).split(None, None, groups, segment))
    assert len(folds) == 4
    seg_idx = np.array([int(s.rsplit("/", 1)[-1]) for s in segment])
    for train, test in folds:
        assert len(set(groups[train]) | set(groups[test])) == 1
        assert not set(seg_idx[train]) & set(seg_idx[test])
        assert len(train) + len(test) == 6


def test_quality_models_share_one_front_end():
    pre = {"resample": 64.0}
    built = {name: factory() for name, factory in quality.models(125.0, 4, "cpu", 0, pre).items()}
    rates = {
        name: [step.new_sfreq for _, step in est.steps if hasattr(step, "new_sfreq")]
        for name, est in built.items()
        if hasattr(est, "steps")
    }
    assert set(rates) == {"GAN", "GAN, lambda_adv=0", "Linear (mel)", "Linear (envelope)"}
    assert all(r == [64.0] for r in rates.values())
    assert [s.new_sfreq for _, s in built["ShuffledPairs(GAN)"].estimator.steps[1:2]] == [64.0]
    assert all(est.steps[-1][1].sfreq == 64.0 for est in built.values() if hasattr(est, "steps"))
    # The mean-spectrum predictor ignores the EEG and gets it unprocessed, at the recorded rate.
    assert built["Mean spectrum"].sfreq == 125.0
    gan = built["GAN"][-1]
    assert gan.warmup_epochs == quality.warmup_epochs(4) < gan.max_epochs


def _load_comparison():
    import importlib.util

    spec = importlib.util.spec_from_file_location("comparison", BENCH / "comparison.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_comparison_main_smallest_run_writes_table_csvs_and_doc_block(tmp_path):
    comparison = _load_comparison()
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
    assert "<!-- comparison-mos -->" in text and "| model | condition |" in text


def test_comparison_split_labels():
    comparison = _load_comparison()
    assert comparison.make_split("gkf4").get_n_splits() == 4
    assert type(comparison.make_split("loso")).__name__ == "LeaveOneGroupOut"
    with pytest.raises(ValueError, match="split"):
        comparison.make_split("kfold")
