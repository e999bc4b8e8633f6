import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sk_eeg2music.cli import _baseline_report, _mean_spectrum_noise, build_parser, main
from sk_eeg2music.report import MARKER

QUICK = ["--n-subjects", "2", "--audio-sfreq", "8000", "--segment-seconds", "2"]


def test_help_lists_demo():
    assert "demo" in build_parser().format_help()


def test_demo_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    assert "examples:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["demo", "--kind", "fmri"], ["demo", "--n-subjects", "0"]])
def test_bad_arguments_exit_nonzero(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "error: argument --" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "sk_eeg2music", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in out.stdout


def test_demo_writes_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *QUICK]) == 0
    captured = capsys.readouterr()
    assert f"report: {out.resolve() / 'report.html'}" in captured.out
    assert "simulating" in captured.err  # progress goes to stderr, results to stdout
    page = (out / "report.html").read_text(encoding="utf-8")
    n_audio = page.count("<audio controls")
    assert n_audio == len(list((out / "audio").glob("*.wav"))) == 4 * 2 * 2  # stim x cond x clip
    assert "Mean-spectrum baseline (no EEG)" in page
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics.condition) == {"listening", "imagery"}
    assert (metrics.chance_mel_r == 0).all()
    assert json.loads((out / "metrics.json").read_text())["metrics"][0]["model"].startswith(
        "Mean-spectrum"
    )
    assert (out / MARKER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no temporary left


@pytest.mark.parametrize("blocker", ["file", "foreign"])
def test_unwritable_out_fails_fast_with_clear_message(tmp_path, capsys, blocker):
    if blocker == "file":
        (tmp_path / "a.txt").write_text("x")
        out = tmp_path / "a.txt" / "report"
    else:
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("keep me")
        out = tmp_path / "mine"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["demo", "--out", str(out), *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Pick" in err
    assert "simulating" not in err  # refused before any work
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_bad_rate_exits_2_with_the_rates_that_work(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--audio-sfreq", "1000"]) == 2
    assert "Rates that work" in capsys.readouterr().err
    assert not out.exists()


def test_mean_spectrum_noise_matches_training_spectrum():
    sfreq, n = 8000, 4000
    freqs = np.fft.rfftfreq(n, 1 / sfreq)
    band = (freqs > 300) & (freqs < 700)
    rng = np.random.default_rng(0)
    # Band-limited training music: all its power lies in 300-700 Hz.
    y_train = np.fft.irfft(band * np.fft.rfft(rng.standard_normal((5, n))), n=n)
    noise = _mean_spectrum_noise(y_train, n, 3, random_state=0)
    assert noise.shape == (3, n) and noise.dtype == np.float32
    rms_train = np.sqrt(np.mean(y_train**2))
    np.testing.assert_allclose(np.sqrt(np.mean(noise**2, axis=1)), rms_train, rtol=1e-4)
    power = np.abs(np.fft.rfft(noise, axis=1)) ** 2
    assert (power[:, band].sum(axis=1) / power.sum(axis=1) > 0.999).all()
    # Independent random phases: draws are uncorrelated with each other.
    assert np.abs(np.corrcoef(noise)[np.triu_indices(3, 1)]).max() < 0.3


def test_baseline_never_sees_test_music(simulated):
    """Changing the held-out segments' music leaves the baseline unchanged."""
    data = simulated("mos")
    items, metrics, test_segments = _baseline_report(data, np.random.default_rng(0))
    assert 0 < len(test_segments) < data.segment.max() + 1
    assert {it["segment"] for it in items} <= set(test_segments)
    assert len(items) == len(set(data.stimulus)) * len(set(data.condition))

    changed = simulated("mos")
    is_test = np.isin(changed.segment, test_segments)
    changed.y[is_test] = np.random.default_rng(1).standard_normal(changed.y[is_test].shape)
    items2, _, test2 = _baseline_report(changed, np.random.default_rng(0))
    np.testing.assert_array_equal(test2, test_segments)
    for a, b in zip(items, items2, strict=True):
        np.testing.assert_array_equal(
            a["reconstructions"][0]["audio"], b["reconstructions"][0]["audio"]
        )
    # ... while changing a training segment's music does change it.
    changed = simulated("mos")
    changed.y[~np.isin(changed.segment, test_segments), ::2] = 0
    items3, _, _ = _baseline_report(changed, np.random.default_rng(0))
    assert not np.allclose(
        items[0]["reconstructions"][0]["audio"], items3[0]["reconstructions"][0]["audio"]
    )
