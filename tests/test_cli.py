import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from safetensors import safe_open
from safetensors.numpy import load_file, save_file
from sklearn.pipeline import Pipeline

from sk_eeg2music import report
from sk_eeg2music.cli import build_parser, main
from sk_eeg2music.persistence import model_info
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


def test_demo_passes_snr_and_n_jobs(tmp_path, monkeypatch):
    import sk_eeg2music.demo as demo

    seen = {}

    def fake_make_simulated(**kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop after the simulation's arguments")

    monkeypatch.setattr(demo, "make_simulated", fake_make_simulated)
    with pytest.raises(RuntimeError, match="stop after"):
        main(["demo", "--out", str(tmp_path / "d"), "--snr-db", "-15", "--n-jobs", "1"])
    assert seen["snr_db"] == -15.0
    seen.clear()
    with pytest.raises(RuntimeError, match="stop after"):
        main(["demo", "--out", str(tmp_path / "d")])
    assert seen["snr_db"] is None  # the calibrated default


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


# ------------------------------------------------------------ fit / reconstruct
# 4 listening trials of 4 s (2 subjects x 2 melodies): one GAN epoch takes seconds.
TINY_DATA = [
    "--n-subjects", "2", "--segment-seconds", "4", "--stimulus-seconds", "4",
    "--audio-sfreq", "8000", "--stimuli", "chor-096", "chor-038", "--conditions", "listening",
]  # fmt: skip
TINY_FIT = ["--preset", "tiny", "--epochs", "1"]
# Subject 3 was not seen in fit; both conditions of one melody.
HELD_OUT = [
    "--subjects", "3", "--segment-seconds", "4", "--stimulus-seconds", "4",
    "--audio-sfreq", "8000", "--stimuli", "chor-096",
]  # fmt: skip


def _held_out_data():
    from sk_eeg2music import make_simulated

    data = make_simulated(
        "mos", n_subjects=3, segment_seconds=4.0, audio_sfreq=8000, stimulus_seconds=4.0
    )
    return data.select(subject="sub-03", stimulus="chor-096")


def _run(argv):
    """``main(argv)`` with stdout and stderr captured (usable in module fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "models" / "gan.safetensors"
    status, out, err = _run(["fit", *TINY_DATA, *TINY_FIT, "--out", str(path)])
    assert status == 0, err
    return path, out, err


@pytest.fixture(scope="module")
def reconstructed(fitted, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("rec") / "held_out"
    status, out, err = _run(
        ["reconstruct", "--model", str(fitted[0]), *HELD_OUT, "--out", str(out_dir)]
    )
    assert status == 0, err
    return out_dir, out, err


def _wavs(folder):
    return {p.name: sf.read(p, dtype="float32") for p in sorted(Path(folder).glob("*.wav"))}


@pytest.mark.parametrize("command", ["demo", "fit", "reconstruct", "evaluate"])
def test_every_command_help_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    examples = help_text.split("examples:\n", 1)[1]
    assert f" {command} " in examples


def test_fit_writes_a_model_file_and_a_one_line_summary(fitted):
    path, out, err = fitted
    lines = out.strip().splitlines()
    assert len(lines) == 1  # training progress went to stderr
    assert f"model: {path}" in lines[0] and "trials: 4" in lines[0]
    assert "subjects: sub-01,sub-02" in lines[0] and "wall time" in lines[0]
    assert "fitting gan on 4 trials of 2 subjects" in err and "epoch" in err
    info = model_info(path)
    assert (info["sfreq"], info["audio_sfreq"], info["n_channels"]) == (64.0, 8000.0, 64)
    assert info["ch_names"] == _held_out_data().ch_names
    assert os.listdir(path.parent) == [path.name]  # no temporary file left


def test_reconstruct_writes_one_wav_per_trial_and_an_index(reconstructed):
    out_dir, out, _ = reconstructed
    data = _held_out_data()
    index = pd.read_csv(out_dir / "index.csv")
    assert list(index.columns) == ["file", "subject", "stimulus", "condition", "segment"]
    assert len(index) == len(data) == 2
    assert list(index.condition) == list(data.condition)
    assert set(index.subject) == {"sub-03"} and set(index.stimulus) == {"chor-096"}
    assert sorted(index.file) == sorted(_wavs(out_dir))
    for name in index.file:
        wav = sf.info(out_dir / name)
        assert (wav.samplerate, wav.frames, wav.channels) == (8000, data.y.shape[1], 1)
        assert np.abs(sf.read(out_dir / name)[0]).max() > 0
    assert f"wrote 2 WAV files (4 s at 8000 Hz) to {out_dir}" in out
    assert sorted(p.name for p in out_dir.parent.iterdir()) == ["held_out"]


@pytest.mark.parametrize("fmt", ["fif", "npy"])
def test_reconstruct_from_an_eeg_file_matches_the_dataset_route(
    fmt, fitted, reconstructed, tmp_path
):
    data = _held_out_data()
    if fmt == "fif":
        # Channels stored in reverse order: the command picks them by name.
        events = np.column_stack([np.arange(len(data)) * 1000, np.zeros(len(data), int), [1, 2]])
        epochs = mne.EpochsArray(
            data.X,
            data.info,
            events=events,
            event_id={"chor-096/listening": 1, "chor-096/imagery": 2},
            verbose="error",
        )
        eeg = tmp_path / "sub-03-epo.fif"
        epochs.reorder_channels(data.ch_names[::-1]).save(eeg, verbose="error")
        extra = []
    else:
        eeg = tmp_path / "trials.npy"
        np.save(eeg, data.X)
        extra = ["--sfreq", "64"]
    out_dir = tmp_path / "rec"
    status, out, err = _run(
        ["reconstruct", "--model", str(fitted[0]), "--eeg", str(eeg), *extra,
         "--subject", "sub-03", "--out", str(out_dir)]
    )  # fmt: skip
    assert status == 0, err
    index = pd.read_csv(out_dir / "index.csv", keep_default_na=False)
    if fmt == "fif":
        assert list(index.condition) == ["listening", "imagery"]
        assert set(index.stimulus) == {"chor-096"}
    else:
        assert "training channels in training order" in err
    expected = list(_wavs(reconstructed[0]).values())
    got = list(_wavs(out_dir).values())
    assert len(got) == len(expected) == len(data)
    for (wave, rate), (ref, ref_rate) in zip(got, expected, strict=True):
        assert rate == ref_rate == 8000
        np.testing.assert_allclose(wave, ref, atol=2 / 2**15)


def _tamper(src, dst, **changes):
    """Copy a model file with some metadata fields changed (arrays untouched)."""
    with safe_open(src, "numpy") as f:
        meta = f.metadata()
    doc = json.loads(meta["sk_eeg2music"])
    doc.update(changes)
    save_file(load_file(src), dst, metadata={"sk_eeg2music": json.dumps(doc)})
    return dst


def test_model_from_another_version_is_refused(fitted, tmp_path, capsys):
    model = _tamper(fitted[0], tmp_path / "old.safetensors", package_version="7.0.0")
    before = _tree(tmp_path)
    out_dir = tmp_path / "rec"
    status = main(["reconstruct", "--model", str(model), *HELD_OUT, "--out", str(out_dir)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and "written by sk_eeg2music 7.0.0" in err and "refit" in err
    assert "loading" not in err  # refused before any work
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("case", ["npy-count", "fif-missing", "rate"])
def test_eeg_with_other_channels_or_rate_is_refused(case, fitted, tmp_path, capsys):
    data = _held_out_data()
    if case == "npy-count":
        eeg = tmp_path / "trials.npy"
        np.save(eeg, data.X[:, :32])
        argv, message = ["--eeg", str(eeg), "--sfreq", "64"], "has 32 channels but the model"
    elif case == "fif-missing":
        eeg = tmp_path / "x-epo.fif"
        epochs = mne.EpochsArray(data.X, data.info, verbose="error")
        epochs.drop_channels([data.ch_names[5]]).save(eeg, verbose="error")
        argv, message = ["--eeg", str(eeg)], f"missing ['{data.ch_names[5]}']"
    else:
        eeg = tmp_path / "trials.npy"
        np.save(eeg, data.X)
        argv, message = ["--eeg", str(eeg), "--sfreq", "128"], "model expects 64 Hz"
    before = _tree(tmp_path)
    status = main(["reconstruct", "--model", str(fitted[0]), *argv, "--out", str(tmp_path / "o")])
    assert status == 2
    assert message in capsys.readouterr().err
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("blocker", ["folder", "parent-is-file", "exists"])
def test_fit_refuses_an_unwritable_out_before_any_work(blocker, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "model.safetensors").write_text("keep me")
    out = {
        "folder": tmp_path,
        "parent-is-file": tmp_path / "a.txt" / "model.safetensors",
        "exists": tmp_path / "model.safetensors",
    }[blocker]
    before = _tree(tmp_path)
    assert main(["fit", "--out", str(out), *TINY_DATA, *TINY_FIT]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "loading" not in err
    assert _tree(tmp_path) == before
    assert (tmp_path / "model.safetensors").read_text() == "keep me"


def test_reconstruct_refuses_a_foreign_out_folder(fitted, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    argv = ["reconstruct", "--model", str(fitted[0]), *HELD_OUT, "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "did not write" in capsys.readouterr().err
    assert _tree(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "--kind", "fmri"],
        ["fit", "--dataset", "eeglab"],
        ["fit", "--model", "cnn"],
        ["fit", "--preset", "huge"],
        ["reconstruct", "--model", "m.safetensors", "--kind", "fmri"],
        ["reconstruct", "--model", "m.safetensors", "--dataset", "eeglab"],
    ],
)
def test_unknown_choices_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["fit", "reconstruct --model m.safetensors"])
def test_unknown_device_exits_2(command, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command.split(), "--device", "gpu", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "--device: must be cpu, cuda or cuda:N" in capsys.readouterr().err


def test_simulated_dataset_takes_snr_db(tmp_path, monkeypatch, capsys):
    import sk_eeg2music

    seen = {}

    def fake_make_simulated(**kwargs):
        seen.update(kwargs)
        raise ValueError("stop after the simulation's arguments")

    monkeypatch.setattr(sk_eeg2music, "make_simulated", fake_make_simulated)
    out = tmp_path / "model.safetensors"
    assert main(["fit", *TINY_DATA, *TINY_FIT, "--snr-db", "-12.5", "--out", str(out)]) == 2
    assert seen["snr_db"] == -12.5
    assert "stop after" in capsys.readouterr().err


def test_failed_fit_creates_nothing(tmp_path, monkeypatch, capsys):
    def fail(self, X, y=None, **params):
        raise ValueError("the decoder diverged")

    monkeypatch.setattr(Pipeline, "fit", fail)
    out = tmp_path / "new" / "sub" / "model.safetensors"
    assert main(["fit", *TINY_DATA, *TINY_FIT, "--out", str(out)]) == 2
    assert "the decoder diverged" in capsys.readouterr().err
    assert _tree(tmp_path) == []  # not even the parent folders


@pytest.mark.parametrize("failure", ["predict", "write"])
def test_failed_reconstruct_leaves_the_previous_output_untouched(
    failure, fitted, tmp_path, monkeypatch, capsys
):
    out_dir = tmp_path / "rec"
    out_dir.mkdir()
    (out_dir / MARKER).write_text("")
    (out_dir / "old.wav").write_text("previous run")
    before = _tree(tmp_path)
    if failure == "predict":

        def fail(self, X, **params):
            raise ValueError("prediction failed")

        monkeypatch.setattr(Pipeline, "predict", fail)
        expected_status, message = 2, "prediction failed"
    else:
        real, calls = report.write_wav, []

        def fail(path, *args, **kwargs):  # the disk fills up after the first file
            calls.append(path)
            if len(calls) > 1:
                raise OSError(28, "No space left on device")
            return real(path, *args, **kwargs)

        monkeypatch.setattr(report, "write_wav", fail)
        expected_status, message = 1, "No space left on device"
    argv = ["reconstruct", "--model", str(fitted[0]), *HELD_OUT, "--out", str(out_dir)]
    assert main(argv) == expected_status
    assert message in capsys.readouterr().err
    assert _tree(tmp_path) == before
    assert (out_dir / "old.wav").read_text() == "previous run"
