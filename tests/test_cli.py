import json
import subprocess
import sys

import pandas as pd
import pytest

from sk_eeg2music.cli import build_parser, main
from sk_eeg2music.report import MARKER

QUICK = [
    "--n-subjects", "2", "--audio-sfreq", "8000", "--segment-seconds", "4", "--epochs", "1",
    "--folds", "1",
]  # fmt: skip


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
    # stimulus x condition x (original, GAN, linear, shuffled control, mean spectrum)
    assert n_audio == len(list((out / "audio").glob("*.wav"))) == 4 * 2 * 5
    for label in ("GAN, held-out sub-01", "Linear decoder (mel)", "Shuffled-pairs GAN"):
        assert label in page
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics.condition) == {"listening", "imagery"}
    assert set(metrics.split) == {"leave-one-subject-out"}
    assert (metrics.id_chance > 0).all() and metrics.mel_r.notna().all()
    models = {row["model"] for row in json.loads((out / "metrics.json").read_text())["metrics"]}
    assert len(models) == 4
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
