"""make_test: a run folder becomes a static MUSHRA test (trials, anchor, 2AFC, files)."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from _listening_helpers import SFREQ, SYSTEMS

from sk_eeg2music.listening import lowpass_anchor, make_test, read_test
from sk_eeg2music.listening._runs import read_run, split_label


def test_read_run_demo_report(tiny_run):
    clips = read_run(tiny_run(conditions=("listening", "imagery"), layout="report"))
    assert len(clips) == 2 * 2 * 4  # stimuli x conditions x (original + 3 systems)
    assert set(clips.system) == {
        "Original",
        "GAN",
        "Linear decoder (mel)",
        "Shuffled-pairs GAN (null control)",
    }
    assert set(clips.loc[clips.system != "Original", "subject"]) == {"sub-01"}
    assert set(clips.condition) == {"listening", "imagery"}
    assert all(pd.Series(clips.file).map(lambda f: f.endswith(".wav")))


def test_report_and_manifest_read_alike(tiny_run):
    cols = ["stimulus", "segment", "condition", "system", "subject"]
    from_report = read_run(tiny_run(layout="report"))[cols]
    from_manifest = read_run(tiny_run(layout="manifest"))[cols]
    pd.testing.assert_frame_equal(from_report, from_manifest)


def test_split_label():
    assert split_label("Shuffled-pairs GAN (null control), sub-01") == (
        "Shuffled-pairs GAN (null control)",
        "sub-01",
    )
    assert split_label("GAN, held-out sub-12") == ("GAN", "sub-12")
    assert split_label("GAN, version 2") == ("GAN, version 2", "")


def test_read_run_manifest(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = []
    for name, system in [("orig.wav", "Original"), ("gan.wav", "GAN")]:
        sf.write(run / name, np.zeros(800), SFREQ)
        rows.append(
            dict(file=name, stimulus="song21", segment=3, condition="listening", system=system)
        )
    pd.DataFrame(rows).to_csv(run / "clips.csv", index=False)
    clips = read_run(run)
    assert clips.system.tolist() == ["Original", "GAN"]
    assert clips.segment.tolist() == [3, 3]
    assert clips.subject.tolist() == ["", ""]


@pytest.mark.parametrize(
    "files, match",
    [
        ({"metrics.csv": "model\nGAN\n"}, "metrics but no audio"),
        ({}, "no clips.csv, report.html or index.csv"),
        (
            {"index.csv": "file,subject,stimulus,condition,segment\na.wav,sub-01,s,listening,0\n"},
            "no system per WAV",
        ),
        (
            {"clips.csv": "file,stimulus,segment,condition,system\n../x.wav,s,0,listening,GAN\n"},
            r"clip 1 \(\.\./x\.wav\) is not a file inside the run",
        ),
        (
            {"clips.csv": "file,stimulus,segment,condition,system\na.wav,s,zero,listening,GAN\n"},
            "row 1: segment 'zero' is not an integer",
        ),
    ],
)
def test_read_run_refuses(tmp_path, files, match):
    run = tmp_path / "run"
    run.mkdir()
    for name, text in files.items():
        (run / name).write_text(text)
    with pytest.raises(ValueError, match=match):
        read_run(run)


def test_read_run_without_originals(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    sf.write(run / "a.wav", np.zeros(800), SFREQ)
    (run / "clips.csv").write_text("file,stimulus,segment,condition,system\na.wav,s,0,l,GAN\n")
    with pytest.raises(ValueError, match="no original music"):
        read_run(run)


def test_make_test_trials(tiny_run, tmp_path):
    run = tiny_run(conditions=("listening", "imagery"), layout="report")
    page = make_test(run, tmp_path / "test", seed=1)
    out = page.parent
    test = read_test(out)
    # One trial per (stimulus, segment, condition), listening first.
    keys = [(t["condition"], t["stimulus"], t["segment"]) for t in test["mushra"]]
    assert keys == [(c, s, 0) for c in ("listening", "imagery") for s in ("chor-019", "chor-038")]
    names = ["Hidden reference", "Anchor (3.5 kHz low-pass)"] + [split_label(s)[0] for s in SYSTEMS]
    roles = ["reference", "anchor"] + ["system"] * len(SYSTEMS)
    for trial in test["mushra"]:
        assert [c["system"] for c in trial["clips"]] == names
        assert [c["role"] for c in trial["clips"]] == roles
        assert [c["id"] for c in trial["clips"]] == [f"c{k}" for k in range(1, len(names) + 1)]
        ref = (out / trial["reference"]).read_bytes()
        hidden, anchor = trial["clips"][0], trial["clips"][1]
        assert (out / hidden["file"]).read_bytes() == ref
        assert hidden["file"] != trial["reference"]  # a copy under another name
        x, rate = sf.read(out / trial["reference"])
        a, _ = sf.read(out / anchor["file"])
        assert rate == SFREQ and len(a) == len(x)
        # The anchor is the reference low-passed: same low band, no top band.
        fx, fa = np.abs(np.fft.rfft(x)), np.abs(np.fft.rfft(a))
        freqs = np.fft.rfftfreq(len(x), 1 / rate)
        assert np.corrcoef(fx[freqs < 3000], fa[freqs < 3000])[0, 1] > 0.99
        # -20 dB at least: 16-bit quantisation noise is the floor of the anchor's top band.
        assert np.sum(fa[freqs > 3800] ** 2) < 1e-2 * np.sum(fx[freqs > 3800] ** 2)
    # The listener cannot read the system from a file name.
    files = [c["file"] for t in test["mushra"] for c in t["clips"]]
    assert all(re.fullmatch(r"audio/[0-9a-f]{12}\.wav", f) for f in files)
    assert len(set(files)) == len(files)
    assert test["systems"] == dict(zip(names, roles, strict=True))


def test_make_test_afc_block(tiny_run, tmp_path):
    test = read_test(make_test(tiny_run(), tmp_path / "test", seed=0).parent)
    trials = {t["id"]: t for t in test["mushra"]}
    assert len(test["afc"]) == len(test["mushra"]) * len(SYSTEMS)
    for afc in test["afc"]:
        trial = trials[afc["mushra_trial"]]
        clip = next(c for c in trial["clips"] if c["id"] == afc["clip"])
        assert afc["x"] == clip["file"] and afc["system"] == clip["system"]
        assert afc["target"] == trial["reference"]
        foil = next(t for t in test["mushra"] if t["reference"] == afc["foil"])
        assert foil["stimulus"] != afc["stimulus"] and foil["condition"] == afc["condition"]
    test = read_test(make_test(tiny_run(), tmp_path / "no-afc", afc=False).parent)
    assert test["afc"] == []


def test_make_test_folder(tiny_run, tmp_path):
    out = make_test(tiny_run(), tmp_path / "test").parent
    for name in ("index.html", "app.js", "style.css", "test.js", "test.json", "run_metrics.csv"):
        assert (out / name).is_file(), name
    assert (out / "ratings").is_dir()
    js = (out / "test.js").read_text()
    prefix = "window.LISTENING_TEST = "
    assert js.startswith(prefix)
    assert json.loads(js[len(prefix) :].rstrip().rstrip(";")) == read_test(out)
    assert "GAN (EEG2MusicGAN)" in (out / "run_metrics.csv").read_text()
    html = (out / "index.html").read_text()
    assert '<script src="test.js">' in html and '<html lang="en">' in html


def test_make_test_is_seeded(tiny_run, tmp_path):
    run = tiny_run(stimuli=("a", "b", "c", "d"))

    def build(name, seed):
        test = read_test(make_test(run, tmp_path / name, seed=seed).parent)
        test.pop("created")
        return test

    assert build("t1", 4) == build("t2", 4)
    other = build("t3", 5)
    assert other["seed"] == 5
    assert [c["file"] for c in other["mushra"][0]["clips"]] != [
        c["file"] for c in build("t4", 4)["mushra"][0]["clips"]
    ]


def test_make_test_keeps_ratings(tiny_run, tmp_path):
    run = tiny_run()
    out = make_test(run, tmp_path / "test").parent
    (out / "ratings" / "ratings_L01.csv").write_text("listener\n")
    with pytest.raises(ValueError, match="holds 1 ratings file"):
        make_test(run, out)
    assert (out / "ratings" / "ratings_L01.csv").is_file()
    make_test(run, out, overwrite_ratings=True)
    assert list((out / "ratings").iterdir()) == []


def test_read_test_refuses_other_json(tmp_path):
    (tmp_path / "test.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a listening test"):
        read_test(tmp_path)


def test_lowpass_anchor():
    rate = 16000
    t = np.arange(rate) / rate
    low, high = np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 5000 * t)
    anchor = lowpass_anchor(low + high, rate)
    # Zero-phase: the kept band is not delayed; peak matched to the input's.
    mid = slice(2000, -2000)
    assert np.corrcoef(anchor[mid], low[mid])[0, 1] > 0.999
    assert np.max(np.abs(anchor)) == pytest.approx(np.max(np.abs(low + high)))
    with pytest.raises(ValueError, match="below the Nyquist"):
        lowpass_anchor(low, 6000)
    with pytest.raises(ValueError, match=r"shape \(n_audio,\)"):
        lowpass_anchor(np.zeros((2, 100)), rate)
