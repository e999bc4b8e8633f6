import html
import json
import os
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sk_eeg2music import _io
from sk_eeg2music import report as report_mod
from sk_eeg2music._io import MARKER, atomic_output_dir, check_output_dir
from sk_eeg2music.report import (
    OutputDirError,
    plot_log_mel,
    write_report,
    write_wav,
)

SFREQ = 8000


@pytest.fixture
def items(make_audio):
    """2 stimuli x 2 conditions, each with the original and one reconstruction."""
    audio = make_audio(n_trials=8, n_audio=SFREQ, sfreq=SFREQ)
    out = []
    for k, (stim, cond) in enumerate(
        [(s, c) for s in ("chor-096", "chor-038") for c in ("imagery", "listening")]
    ):
        recs = [dict(label='Linear <mel> & "quotes"', audio=audio[2 * k + 1])]
        out.append(
            dict(
                stimulus=stim,
                segment=2,
                condition=cond,
                original=audio[2 * k],
                reconstructions=recs,
            )
        )
    return out


@pytest.fixture
def metrics():
    return pd.DataFrame(
        dict(
            model=["GAN", "Linear (mel)", "GAN, shuffled pairs"],
            split=["leave-one-subject-out"] * 3,
            mel_r=[0.21, 0.12, np.nan],
            identification_accuracy=[0.5, 0.3, 0.24],
            chance=[0.25, 0.25, 0.25],
            n_folds=[4, 4, 4],
        )
    )


def test_write_wav_round_trip(tmp_path, make_audio):
    y = make_audio(n_trials=1, n_audio=SFREQ // 2, sfreq=SFREQ)[0] * 7.0  # would clip
    path = write_wav(tmp_path / "a.wav", y, SFREQ)
    back, rate = sf.read(path)
    info = sf.info(path)
    assert rate == SFREQ and len(back) == len(y)
    assert info.subtype == "PCM_16" and info.channels == 1
    assert np.max(np.abs(back)) == pytest.approx(0.9, abs=1e-3)
    # Normalisation is a pure gain: the shape of the waveform is kept.
    assert np.corrcoef(back, y)[0, 1] > 0.9999


def test_write_wav_without_normalize_keeps_level_but_never_clips(tmp_path):
    quiet = 0.1 * np.sin(np.linspace(0, 50, 800))
    back, _ = sf.read(write_wav(tmp_path / "q.wav", quiet, SFREQ, normalize=False))
    np.testing.assert_allclose(back, quiet, atol=1e-4)
    loud = 3 * quiet
    back, _ = sf.read(write_wav(tmp_path / "l.wav", loud * 10, SFREQ, normalize=False))
    assert np.max(np.abs(back)) < 1.0


def test_write_wav_silence_and_bad_input(tmp_path):
    back, _ = sf.read(write_wav(tmp_path / "z.wav", np.zeros(100), SFREQ))
    assert not back.any()
    with pytest.raises(ValueError, match=r"shape \(n_audio,\)"):
        write_wav(tmp_path / "b.wav", np.zeros((2, 100)), SFREQ)
    with pytest.raises(ValueError, match="NaN"):
        write_wav(tmp_path / "b.wav", np.full(100, np.nan), SFREQ)
    with pytest.raises(ValueError, match="integer sampling rate"):
        write_wav(tmp_path / "b.wav", np.zeros(100), 8000.5)


def test_plot_log_mel_writes_png(tmp_path, make_audio):
    y = make_audio(n_trials=1, n_audio=SFREQ, sfreq=SFREQ)[0]
    path = plot_log_mel(tmp_path / "s.png", y, SFREQ, title="<x>")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (400, 160)
    assert len(data) < 200_000


def test_report_folder_content(tmp_path, items, metrics):
    out = tmp_path / "rep"
    page = write_report(
        out,
        items,
        metrics,
        sfreq=SFREQ,
        split_description="LOSO <4 folds>",
        meta={"seed": 0},
        notes=["note & <b>"],
    )
    assert page == out.resolve() / "report.html"
    text = page.read_text(encoding="utf-8")
    n_clips = sum(1 + len(it["reconstructions"]) for it in items)
    audio_srcs = re.findall(r"<audio controls preload='auto' src='([^']+)'>", text)
    img_srcs = re.findall(r"<img src='([^']+)'", text)
    assert len(audio_srcs) == len(set(audio_srcs)) == n_clips
    assert len(img_srcs) == len(set(img_srcs)) == n_clips
    for src in audio_srcs:
        assert not src.startswith(("/", "http")), "links must be relative"
        back, rate = sf.read(out / src)
        assert rate == SFREQ and len(back) == SFREQ
    for src in img_srcs:
        assert (out / src).read_bytes()[:4] == b"\x89PNG"
    # Offline page: no script, no external URL.
    assert "<script" not in text and "http://" not in text and "https://" not in text
    # Text is escaped everywhere it appears.
    assert "<mel>" not in text and "<4 folds>" not in text and "note & <b>" not in text
    assert html.escape('Linear <mel> & "quotes"') in text
    # Listening is the first column although imagery came first in the items.
    assert text.index("<th scope='col'>listening</th>") < text.index("<th scope='col'>imagery</th>")
    # One section per (stimulus, segment), segment time from the clip length.
    assert text.count("<section class='stimulus'>") == 2
    assert "(2.0–3.0 s)" in text


def test_metrics_files(tmp_path, items, metrics):
    out = tmp_path / "rep"
    write_report(out, items, metrics, sfreq=SFREQ, split_description="leave-one-subject-out")
    back = pd.read_csv(out / "metrics.csv")
    pd.testing.assert_frame_equal(back, metrics, check_dtype=False)
    payload = json.loads((out / "metrics.json").read_text())
    assert payload["split_description"] == "leave-one-subject-out"
    assert pd.DataFrame(payload["metrics"]).columns.tolist() == metrics.columns.tolist()
    assert payload["metrics"][2]["mel_r"] is None  # NaN -> null, valid JSON
    assert payload["metrics"][0]["chance"] == 0.25
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "GAN, shuffled pairs" in text and "0.250" in text and "—" in text


def test_metrics_as_list_of_dicts_or_none(tmp_path, items):
    rows = [dict(model="m", mel_r=0.1)]
    write_report(tmp_path / "a", items, rows, sfreq=SFREQ)
    assert pd.read_csv(tmp_path / "a" / "metrics.csv").to_dict("records") == rows
    write_report(tmp_path / "b", items[:1], None, sfreq=SFREQ)
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["metrics"] == []


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda it: it.pop("condition"), "lacks"),
        (lambda it: it["reconstructions"].append(dict(it["reconstructions"][0])), "duplicate"),
        (lambda it: it.update(original=np.zeros((2, 10))), r"shape \(n_audio,\)"),
    ],
)
def test_bad_items_raise_and_write_nothing(tmp_path, items, mutate, match):
    mutate(items[1])
    with pytest.raises(ValueError, match=match):
        write_report(tmp_path / "rep", items, None, sfreq=SFREQ)
    assert list(tmp_path.iterdir()) == []


def test_duplicate_item_key_raises_and_leaves_nothing(tmp_path, items):
    items[1]["condition"] = items[0]["condition"]
    with pytest.raises(ValueError, match="share stimulus"):
        write_report(tmp_path / "rep", items, None, sfreq=SFREQ)
    assert list(tmp_path.iterdir()) == []


def test_failure_midway_leaves_no_folder_and_keeps_previous(tmp_path, items, metrics, monkeypatch):
    out = tmp_path / "rep"
    write_report(out, items[:1], metrics, sfreq=SFREQ, title="first")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    calls = []

    def failing_plot(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return plot_log_mel(path, *args, **kwargs)

    monkeypatch.setattr(report_mod, "plot_log_mel", failing_plot)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(out, items, metrics, sfreq=SFREQ, title="second")
    assert len(calls) == 3  # it failed after writing some files
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert "first" in (out / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no temporary left

    calls.clear()
    new = tmp_path / "new"
    with pytest.raises(RuntimeError):
        write_report(new, items, metrics, sfreq=SFREQ)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_rewrite_replaces_previous_report(tmp_path, items, metrics):
    out = tmp_path / "rep"
    write_report(out, items[:2], metrics, sfreq=SFREQ)
    write_report(out, items[:1], metrics, sfreq=SFREQ)
    assert len(list((out / "audio").iterdir())) == 2
    assert (out / MARKER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_foreign_or_file_out_is_refused_untouched(tmp_path, items):
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(OutputDirError, match="did not write"):
        write_report(foreign, items, None, sfreq=SFREQ)
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for out in (a_file, a_file / "sub"):
        with pytest.raises(OutputDirError, match="not a folder"):
            check_output_dir(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "home"]


def test_missing_parents_created_only_when_writing(tmp_path, items):
    out = tmp_path / "a" / "b" / "rep"
    assert check_output_dir(out) == out.resolve()
    assert list(tmp_path.iterdir()) == []
    write_report(out, items[:1], None, sfreq=SFREQ)
    assert (out / "report.html").exists()


def test_unwritable_parent_gives_clear_error(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_io.tempfile, "mkdtemp", denied)
    with pytest.raises(OutputDirError, match="Permission denied.*Pick an output folder"):
        with atomic_output_dir(tmp_path / "rep"):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_parent_gives_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputDirError, match="Pick an output folder"):
            check_output_dir(ro / "rep")
    finally:
        ro.chmod(0o755)


def test_atomic_dir_permissions_and_nesting(tmp_path):
    old_umask = os.umask(0o022)
    try:
        with atomic_output_dir(tmp_path / "outer") as tmp:
            (tmp / "model.txt").write_text("m")
            with atomic_output_dir(tmp / "inner") as inner:
                (inner / "x").write_text("x")
            assert not (tmp_path / "outer").exists()
    finally:
        os.umask(old_umask)
    assert (tmp_path / "outer" / "inner" / "x").exists()
    assert (tmp_path / "outer" / "model.txt").exists()
    # Not mkdtemp's private 0o700: the report is readable like any folder.
    assert (tmp_path / "outer").stat().st_mode & 0o777 == 0o755
