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

from sk_eeg2music import _io
from sk_eeg2music._io import MARKER
from sk_eeg2music.cli import build_parser, main
from sk_eeg2music.persistence import model_info

QUICK = [
    "--n-subjects", "2", "--audio-sfreq", "8000", "--segment-seconds", "4", "--epochs", "1",
    "--folds", "2", "--preset", "tiny",
]  # fmt: skip
# The demo test's models: the GAN, a linear decoder, an EEG-free baseline and the
# GAN's timing null (the full list costs minutes; each model is tested on its own).
DEMO_SUBSET = ["--models", "gan", "linear-mel", "beat-template", "time-shifted-gan"]


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
    assert main(["demo", "--out", str(out), *QUICK, *DEMO_SUBSET]) == 0
    captured = capsys.readouterr()
    assert f"report: {out.resolve() / 'report.html'}" in captured.out
    assert "simulating" in captured.err  # progress goes to stderr, results to stdout
    page = (out / "report.html").read_text(encoding="utf-8")
    n_audio = page.count("<audio controls")
    # stimulus x condition x (original, GAN for 2 held-out subjects, linear, beat, null)
    assert n_audio == len(list((out / "audio").glob("*.wav"))) == 4 * 2 * 6
    for label in (
        "GAN, held-out sub-01",
        "GAN, held-out sub-02",
        "Linear decoder (mel), held-out sub-01",
        "Beat template (no EEG)",
        "Time-shifted null (GAN)",
        "Paired tests",
    ):
        assert label in page
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics.condition) == {"listening", "imagery"}
    assert set(metrics.model) == {"gan", "linear-mel", "beat-template", "time-shifted-gan"}
    assert metrics["feature r [95% CI]"].notna().all()
    tables = json.loads((out / "metrics.json").read_text())["tables"]
    (tests,) = tables.values()
    assert {row["model"] for row in tests} == set(metrics.model)
    assert "GroupKFold(2)" in json.loads((out / "metrics.json").read_text())["split_description"]
    assert (out / MARKER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no temporary left


def test_demo_refuses_a_single_fold(tmp_path, capsys):
    argv = ["demo", "--out", str(tmp_path / "d"), *QUICK, "--folds", "1"]
    assert main(argv) == 2
    assert "GroupKFold needs 2" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


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


@pytest.mark.parametrize("failure", ["predict", "write", "libsndfile"])
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
    elif failure == "write":
        real, calls = _io.write_wav, []

        def fail(path, *args, **kwargs):  # the disk fills up after the first file
            calls.append(path)
            if len(calls) > 1:
                raise OSError(28, "No space left on device")
            return real(path, *args, **kwargs)

        monkeypatch.setattr(_io, "write_wav", fail)
        expected_status, message = 1, "No space left on device"
    else:
        real, calls = sf.write, []

        def fail(file, *args, **kwargs):  # libsndfile's own error on a full disk
            calls.append(file)
            if len(calls) > 1:
                raise sf.LibsndfileError(2, prefix=f"Error writing {file}: ")
            return real(file, *args, **kwargs)

        monkeypatch.setattr(sf, "write", fail)
        expected_status, message = 1, "System error.; nothing was written."
    argv = ["reconstruct", "--model", str(fitted[0]), *HELD_OUT, "--out", str(out_dir)]
    assert main(argv) == expected_status
    err = capsys.readouterr().err
    assert message in err
    assert err.splitlines()[-1].startswith("error: ")  # one line, no traceback
    assert "Traceback" not in err
    assert _tree(tmp_path) == before
    assert (out_dir / "old.wav").read_text() == "previous run"


# ------------------------------------------------ outputs, messages, Ctrl-C
@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    "argv",
    [
        ["fit", *TINY_DATA, *TINY_FIT, "--out", "/proc/x.safetensors"],
        ["demo", *QUICK, "--out", "/proc/newdir"],
        ["evaluate", *TINY_DATA, "--out", "/proc/newdir"],
        ["reconstruct", "--model", "m.safetensors", "--out", "/proc/newdir"],
    ],
    ids=["fit", "demo", "evaluate", "reconstruct"],
)
def test_out_where_nothing_can_be_created_fails_at_once(argv, capsys):
    # /proc passes os.access for root; only the probe file tells.
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write to /proc") and err.count("\n") == 1
    assert "loading" not in err and "simulating" not in err


def test_fit_refuses_a_model_file_written_meanwhile(tmp_path, monkeypatch, capsys):
    from sk_eeg2music import persistence

    out = tmp_path / "linear.safetensors"
    real = persistence.save_model

    def racing_save(estimator, path, **kwargs):  # another run finishes first
        out.write_text("the other run's model")
        return real(estimator, path, **kwargs)

    monkeypatch.setattr(persistence, "save_model", racing_save)
    argv = ["fit", *TINY_DATA, "--model", "linear-envelope", "--out", str(out)]
    assert main(argv) == 2
    assert "created while this run was working" in capsys.readouterr().err
    assert out.read_text() == "the other run's model"
    assert _tree(tmp_path) == ["linear.safetensors"]  # no temporary file left
    assert main([*argv, "--overwrite"]) == 0
    assert model_info(out)["estimator"] == "Pipeline"
    assert _tree(tmp_path) == ["linear.safetensors"]


def test_ctrl_c_in_process_exits_130_and_writes_nothing(tmp_path, monkeypatch, capsys):
    def interrupted(self, X, y=None, **params):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "fit", interrupted)
    out = tmp_path / "new" / "model.safetensors"
    assert main(["fit", *TINY_DATA, "--model", "linear-envelope", "--out", str(out)]) == 130
    assert capsys.readouterr().err.endswith("interrupted (Ctrl-C); nothing was written.\n")
    assert _tree(tmp_path) == []


def test_errors_are_reported_on_one_line(tmp_path, monkeypatch, capsys):
    def fail(self, X, y=None, **params):
        raise ValueError("the decoder diverged:\n  lower the learning rate")

    monkeypatch.setattr(Pipeline, "fit", fail)
    out = tmp_path / "model.safetensors"
    assert main(["fit", *TINY_DATA, "--model", "linear-envelope", "--out", str(out)]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == "error: the decoder diverged: lower the learning rate"


@pytest.mark.parametrize("split", ["loso", "group-kfold"])
def test_evaluate_with_one_subject_says_two_are_needed(split, tmp_path, capsys):
    argv = ["evaluate", *TINY_DATA, "--n-subjects", "1", "--split", split]
    assert main([*argv, "--out", str(tmp_path / "ev")]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert f"--split {split} holds subjects out, so it needs at least 2 subjects" in err
    assert "n_splits" not in err and "Fold" not in err
    assert _tree(tmp_path) == []


@pytest.mark.parametrize("dataset", ["nmedt", "mos"])
def test_data_dir_that_is_a_file_is_called_a_file(dataset, tmp_path, capsys):
    (tmp_path / "data.zip").write_text("an archive")
    argv = ["fit", "--dataset", dataset, "--data-dir", str(tmp_path / "data.zip")]
    assert main([*argv, "--out", str(tmp_path / "m.safetensors")]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert "data.zip is a file, not a folder" in err and "does not exist" not in err


def test_folder_named_like_a_data_file_is_called_a_folder(tmp_path, capsys):
    (tmp_path / "NMED-T" / "song21_Imputed.mat").mkdir(parents=True)
    argv = ["fit", "--dataset", "nmedt", "--data-dir", str(tmp_path / "NMED-T"), "--songs", "21"]
    assert main([*argv, "--out", str(tmp_path / "m.safetensors")]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert "song21_Imputed.mat is a folder, not the file song21_Imputed.mat" in err
    assert "missing" not in err


def test_songs_reach_the_nmedt_loader_and_only_it(tmp_path, monkeypatch, capsys):
    import sk_eeg2music

    seen = {}

    def fake_load_nmedt(data_dir, **kwargs):
        seen.update(kwargs)
        raise ValueError("stop after the loader's arguments")

    monkeypatch.setattr(sk_eeg2music, "load_nmedt", fake_load_nmedt)
    out = str(tmp_path / "m.safetensors")
    argv = ["fit", "--dataset", "nmedt", "--data-dir", str(tmp_path), "--songs", "21", "song22"]
    assert main([*argv, "--out", out]) == 2
    assert seen["songs"] == ["21", "song22"]
    assert main(["fit", *TINY_DATA, "--songs", "21", "--out", out]) == 2
    assert "--songs selects NMED-T songs" in capsys.readouterr().err


def test_missing_nmedt_songs_advice_names_the_cli_flag(tmp_path, capsys):
    argv = ["fit", "--dataset", "nmedt", "--data-dir", str(tmp_path), "--songs", "21"]
    assert main([*argv, "--out", str(tmp_path / "m.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "--songs on the command line" in err
    assert "--songs" in _fit_help()


def _fit_help():
    with contextlib.redirect_stdout(io.StringIO()) as buf, pytest.raises(SystemExit):
        main(["fit", "--help"])
    return buf.getvalue()


def test_run_demo_checks_its_folder_before_any_work(tmp_path, monkeypatch):
    import sk_eeg2music.demo as demo

    def never(**kwargs):
        raise AssertionError("simulated before checking the output folder")

    monkeypatch.setattr(demo, "make_simulated", never)
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(_io.OutputDirError, match="did not write"):
        demo.run_demo(tmp_path)
    assert _tree(tmp_path) == ["notes.txt"]


def test_model_names_come_from_the_registry(tmp_path, capsys):
    from sk_eeg2music.pipelines import MODELS

    for command, dest in (("fit", "model"), ("evaluate", "models")):
        sub = build_parser()._subparsers._group_actions[0].choices[command]
        action = next(a for a in sub._actions if a.dest == dest)
        assert list(action.choices) == list(MODELS)
    out = tmp_path / "ev"
    data = [*TINY_DATA, "--segment-seconds", "2"]  # two segments per stimulus: imposters
    argv = ["evaluate", *data, "--models", "mean-spectrum", "--out", str(out)]
    assert main(argv) == 0
    summary = pd.read_csv(out / "metrics.csv")
    assert set(summary.model) == {"mean-spectrum"}
    captured = capsys.readouterr()
    assert "evaluating mean-spectrum (loso, 2 folds)" in captured.err
    # Whole recordings: one song guess per (subject, melody) of a test fold, printed too;
    # a prediction shared by every trial is at chance.
    assert summary.n_recordings.tolist() == [2.0]
    assert summary.feature_song_acc.tolist() == [0.5]
    assert "feature_song_acc" in captured.out


def test_a_model_fitted_on_both_conditions_gets_each_trials_condition(tmp_path):
    both = [a if a != "listening" else "imagery" for a in TINY_DATA] + ["listening"]
    model = tmp_path / "both.safetensors"
    status, _, err = _run(["fit", *both, *TINY_FIT, "--out", str(model)])
    assert status == 0, err
    # The dataset route knows every trial's condition ...
    status, _, err = _run(["reconstruct", "--model", str(model), *HELD_OUT,
                           "--out", str(tmp_path / "rec")])  # fmt: skip
    assert status == 0, err
    index = pd.read_csv(tmp_path / "rec" / "index.csv", keep_default_na=False)
    assert set(index.condition) == {"listening", "imagery"}
    # ... a bare array does not, and the model has one mapping per condition.
    eeg = tmp_path / "trials.npy"
    np.save(eeg, _held_out_data().X)
    status, _, err = _run(["reconstruct", "--model", str(model), "--eeg", str(eeg),
                           "--sfreq", "64", "--out", str(tmp_path / "rec2")])  # fmt: skip
    assert status != 0 and "one mapping per condition" in err
