"""load_mos on small files written in the published CND and Dryad layouts."""

import re
import shutil

import numpy as np
import pytest
import scipy.io as sio
from _writers import (
    BIOSEMI64,
    CHORALES,
    MOS_MARKERS,
    NOTE_COUNTS,
    make_mos_stimuli,
    write_mos_cnd,
    write_mos_dryad,
    write_wav,
)
from scipy.signal import resample_poly

from sk_eeg2music import load_mos
from sk_eeg2music.datasets.mos import clean_label, click_onsets

N_TIMES = 320  # 5 s at 64 Hz (1803 in the real files)
N_REPS = 2  # trials per melody and condition (11 in the real files)
SR = 8000  # audio_sfreq used in the tests: 125 audio samples per EEG sample


@pytest.fixture(scope="module")
def stimuli():
    return make_mos_stimuli(n_times=N_TIMES)


@pytest.fixture(scope="module")
def cnd_dirs(stimuli, tmp_path_factory):
    out = {}
    for layout in ("dict", "record"):
        root = tmp_path_factory.mktemp(f"cnd_{layout}")
        write_mos_cnd(root, stimuli, subjects=(1, 2), n_reps=N_REPS, layout=layout)
        out[layout] = root
    return out


@pytest.fixture(scope="module")
def dryad(stimuli, tmp_path_factory):
    root = tmp_path_factory.mktemp("dryad")
    order = write_mos_dryad(root, stimuli, n_participants=2, n_reps=N_REPS)
    return root, order


def _markers(data):
    """Stored marker values (chorale, condition, subject, trial, sample) per trial."""
    idx = [data.ch_names.index(name) for name in MOS_MARKERS]
    return (
        np.rint(data.X[:, idx, 0] / 1e-6).astype(int),
        np.rint(data.X[:, idx[-1], :] / 1e-6).astype(int),
    )


@pytest.mark.parametrize("layout", ["dict", "record"])
def test_fixture_files_have_the_published_layout(cnd_dirs, layout):
    cnd = cnd_dirs[layout] / "datasetCND_musicImagery" / "dataCND"
    raw = sio.loadmat(cnd / "dataSub1.mat")  # third-party raw [0, 0] indexing
    assert raw["eeg"]["data"][0, 0][0, 3].shape == (N_TIMES, 64)
    labels = [k["labels"] for k in sio.loadmat(cnd / "dataSub1.mat", simplify_cells=True)[
        "eeg"]["chanlocs"]]  # fmt: skip
    assert {"T7 (T3)", "Iz (inion)", "Afz", "T8 (T4)"} <= set(labels)
    simple = sio.loadmat(cnd / "dataStim.mat", simplify_cells=True, squeeze_me=True)
    stim = simple["stim"]
    assert set(stim) == {"stimIdxs", "condIdxs", "condNames", "data", "names", "fs"}
    assert stim["data"].shape == (2, 8 * N_REPS) and stim["data"][0, 0].shape == (N_TIMES,)
    assert list(stim["condIdxs"]) == [1] * 4 * N_REPS + [2] * 4 * N_REPS
    assert list(stim["stimIdxs"][: 4 * N_REPS]) == list(np.repeat([1, 2, 3, 4], N_REPS))


def test_dryad_fixture_has_the_published_nesting(dryad):
    root, _ = dryad
    m = sio.loadmat(root / "ImageryData.mat", squeeze_me=False)
    assert int(np.asarray(m["downFs"]).ravel()[0]) == 64
    # eeg[0, participant][0, condition][0, trial] -> (1803 time, 64 channels)
    assert m["eeg"][0, 1][0, 1][0, 2].shape == (N_TIMES, 64)
    assert m["eeg"].shape == (1, 2) and m["eeg"][0, 0].shape == (1, 2)
    assert m["stim"][0, 0][0, 0].shape == (1, 4 * N_REPS)
    assert (root / "original_stim" / "original_stim" / "audio" / "chor-096.wav").is_file()


@pytest.mark.parametrize("layout", ["dict", "record"])
def test_cnd_shapes_labels_and_channels(cnd_dirs, layout):
    data = load_mos(cnd_dirs[layout], audio_sfreq=SR)
    n_trials = 2 * 8 * N_REPS
    assert data.X.shape == (n_trials, 64, N_TIMES) and data.y.shape == (n_trials, N_TIMES * 125)
    assert data.sfreq == 64.0 and data.audio_sfreq == SR
    marks, ramp = _markers(data)
    # The published stimIdx -> melody mapping reproduces the melody each trial was written with.
    np.testing.assert_array_equal([CHORALES[m - 1] for m in marks[:, 0]], data.stimulus)
    np.testing.assert_array_equal(
        np.where(marks[:, 1] == 1, "listening", "imagery"), data.condition
    )
    np.testing.assert_array_equal([f"sub-{m:02d}" for m in marks[:, 2]], data.subject)
    # Trials keep the stored order (listening first), not origTrialPosition's.
    np.testing.assert_array_equal(marks[:, 3], np.tile(np.arange(1, 8 * N_REPS + 1), 2))
    assert list(data.condition[: 4 * N_REPS]) == ["listening"] * 4 * N_REPS
    np.testing.assert_array_equal(ramp, np.tile(np.arange(N_TIMES), (n_trials, 1)))
    assert data.ch_names == list(BIOSEMI64)  # cleaned: 'T7 (T3)' -> 'T7', 'Afz' -> 'AFz'
    assert not any("(" in c for c in data.ch_names)
    assert data.info.get_montage() is not None
    assert set(data.segment) == {0}
    assert data.description["layout"] == "cnd"


def test_channel_order_follows_chanlocs(stimuli, tmp_path):
    order = list(np.random.default_rng(1).permutation(BIOSEMI64))
    write_mos_cnd(tmp_path, stimuli, subjects=(1,), n_reps=1, channel_order=order)
    data = load_mos(tmp_path, audio_sfreq=SR)
    assert data.ch_names == order
    marks, _ = _markers(data)
    np.testing.assert_array_equal([CHORALES[m - 1] for m in marks[:, 0]], data.stimulus)
    pos = data.info.get_montage().get_positions()["ch_pos"]
    assert np.allclose(pos[order[0]], data.info["chs"][0]["loc"][:3])


def test_clean_label():
    assert [clean_label(x) for x in ("T7 (T3)", "Iz (inion)", "Afz", "fp1", "T8 (T4)")] == [
        "T7",
        "Iz",
        "AFz",
        "Fp1",
        "T8",
    ]


def test_condition_and_subject_selection(cnd_dirs, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(cnd_dirs["dict"], root)
    cnd = root / "datasetCND_musicImagery" / "dataCND"
    (cnd / "dataSub1.mat").write_bytes(b"not a mat file" * 20)  # must not be read
    data = load_mos(root, conditions=("imagery",), subjects=["sub-02"], audio_sfreq=SR)
    assert set(data.condition) == {"imagery"} and set(data.subject) == {"sub-02"}
    assert len(data) == 4 * N_REPS
    marks, _ = _markers(data)
    assert set(marks[:, 1]) == {2} and set(marks[:, 2]) == {2}
    with pytest.raises(ValueError, match=r"dataSub1\.mat"):
        load_mos(root, subjects=[1], audio_sfreq=SR)
    with pytest.raises(ValueError, match="available"):
        load_mos(root, subjects=[7], audio_sfreq=SR)


def test_audio_starts_at_the_detected_click_and_is_the_melody(cnd_dirs, stimuli):
    data = load_mos(cnd_dirs["dict"], subjects=[1], audio_sfreq=SR)
    for chorale in CHORALES:
        start = stimuli[chorale]["start_seconds"]  # the writer's 7th click, not 4.80 s
        assert abs(data.description["eeg_start_seconds"][chorale] - start) < 1e-3
        row = np.flatnonzero(data.stimulus == chorale)[0]
        first_note = stimuli[chorale]["onsets"][0] * 125  # EEG sample -> audio sample
        assert abs(int(np.flatnonzero(np.abs(data.y[row]) > 0.2)[0]) - first_note) <= 4
    # Imagery trials get the melody that was imagined.
    for chorale in CHORALES:
        rows = np.flatnonzero(data.stimulus == chorale)
        assert len(set(data.condition[rows])) == 2
        np.testing.assert_array_equal(
            data.y[rows], np.broadcast_to(data.y[rows[0]], data.y[rows].shape)
        )


def test_explicit_offset_gives_exactly_the_melody_channel(cnd_dirs, stimuli):
    chorale = "chor-038"
    start = stimuli[chorale]["start_seconds"]
    data = load_mos(cnd_dirs["dict"], subjects=[1], audio_sfreq=SR, audio_offset=start)
    i0 = int(round(start * stimuli["audio_sfreq"]))
    melody = np.round(stimuli[chorale]["wav"][i0:, 1] * 32767) / 32767  # 16-bit file
    expected = resample_poly(melody, 80, 441)[: N_TIMES * 125]  # 44100 -> 8000
    row = np.flatnonzero(data.stimulus == chorale)[0]
    np.testing.assert_allclose(data.y[row], expected, atol=2e-4)


def test_segments(cnd_dirs):
    whole = load_mos(cnd_dirs["dict"], subjects=[2], audio_sfreq=SR)
    seg = load_mos(cnd_dirs["dict"], subjects=[2], audio_sfreq=SR, segment_seconds=1.0)
    n_seg = N_TIMES // 64
    assert seg.X.shape == (len(whole) * n_seg, 64, 64) and seg.y.shape[1] == 64 * 125
    np.testing.assert_array_equal(seg.segment, np.tile(np.arange(n_seg), len(whole)))
    for k in (0, 3):
        np.testing.assert_array_equal(seg.X[k], whole.X[0][:, k * 64 : (k + 1) * 64])
        np.testing.assert_array_equal(seg.y[k], whole.y[0][k * 8000 : (k + 1) * 8000])


def test_click_onsets_finds_every_click():
    sfreq = 44100
    times = np.array([0.5, 1.1, 1.7, 2.3])
    x = np.zeros(3 * sfreq)
    for i, t in enumerate(times):
        a = int(t * sfreq)
        x[a : a + 200] = (1.0 if i % 2 else 0.4) * np.hanning(200)  # accented clicks
    found = click_onsets(x, sfreq) / sfreq
    assert len(found) == len(times)
    np.testing.assert_allclose(found, times, atol=2e-3)


def test_cnd_labels_that_contradict_the_audio_raise(stimuli, tmp_path):
    # Stored envelopes of stimIdx 1 and 2 swapped: the audio says the mapping is wrong.
    swapped = {1: "chor-038", 2: "chor-096", 3: "chor-101", 4: "chor-019"}
    write_mos_cnd(tmp_path, stimuli, subjects=(1,), n_reps=1, stim_map=swapped)
    with pytest.raises(
        ValueError, match=r"contradict the audio.*1: assumed chor-096, audio says chor-038"
    ):
        load_mos(tmp_path, audio_sfreq=SR)
    data = load_mos(tmp_path, audio_sfreq=SR, verify_stimuli=False)
    assert data.description["stimulus_check"].startswith("not checked")


def test_dryad_labels_from_note_counts(dryad):
    root, order = dryad
    data = load_mos(root, audio_sfreq=SR, segment_seconds=2.5)
    n_seg = 2
    assert data.X.shape == (2 * 2 * 4 * N_REPS * n_seg, 64, 160)
    marks, _ = _markers(data)
    np.testing.assert_array_equal([CHORALES[m - 1] for m in marks[:, 0]], data.stimulus)
    np.testing.assert_array_equal(
        np.where(marks[:, 1] == 1, "listening", "imagery"), data.condition
    )
    np.testing.assert_array_equal([f"sub-{m:02d}" for m in marks[:, 2]], data.subject)
    expected = [ch for p in (1, 2) for c in (1, 2) for ch in order[(p, c)] for _ in range(n_seg)]
    np.testing.assert_array_equal(data.stimulus, expected)
    assert data.ch_names == list(BIOSEMI64)
    assert data.description["layout"] == "dryad"
    scores = data.description["stimulus_check"]["scores"]
    assert set(scores) == {f"{n} notes" for n in NOTE_COUNTS.values()}
    imagery = load_mos(root, conditions="imagery", subjects=2, audio_sfreq=SR)
    assert set(imagery.condition) == {"imagery"} and set(imagery.subject) == {"sub-02"}


def test_dryad_audio_that_contradicts_the_counts_raises(stimuli, tmp_path):
    write_mos_dryad(
        tmp_path, stimuli, n_participants=1, n_reps=1, swap_audio=("chor-101", "chor-019")
    )
    with pytest.raises(ValueError, match="contradict the audio"):
        load_mos(tmp_path, audio_sfreq=SR)


def test_dryad_unknown_note_count_raises(stimuli, tmp_path):
    write_mos_dryad(tmp_path, stimuli, n_participants=1, n_reps=1)
    path = tmp_path / "ImageryData.mat"
    m = sio.loadmat(path)
    vector = m["stim"][0, 0][0, 1][0, 2]
    vector[np.flatnonzero(vector)[:3]] = 0.0  # drop three notes of one trial
    sio.savemat(path, {k: m[k] for k in ("eeg", "stim", "downFs")})
    with pytest.raises(ValueError, match=r"stim\{1\}\{2\}\{3\}.*cannot be identified"):
        load_mos(tmp_path, audio_sfreq=SR)


def test_missing_files_list_names_and_download_pages(tmp_path, cnd_dirs):
    with pytest.raises(FileNotFoundError, match=r"dataStim\.mat.*ImageryData\.mat.*dryad"):
        load_mos(tmp_path)
    with pytest.raises(FileNotFoundError, match="cnspworkshop"):
        load_mos(tmp_path / "absent")
    root = tmp_path / "copy"
    shutil.copytree(cnd_dirs["dict"], root)
    (root / "datasetCND_musicImagery" / "stimuli" / "audio" / "chor-019.wav").unlink()
    with pytest.raises(FileNotFoundError, match=r"chor-019\.wav"):
        load_mos(root, audio_sfreq=SR)


def test_both_layouts_need_a_choice(cnd_dirs, dryad, tmp_path):
    shutil.copytree(cnd_dirs["dict"], tmp_path / "cnd")
    shutil.copytree(dryad[0], tmp_path / "dryad")
    with pytest.raises(ValueError, match="layout="):
        load_mos(tmp_path, audio_sfreq=SR)
    assert load_mos(tmp_path, layout="dryad", subjects=[1], audio_sfreq=SR).description[
        "layout"] == "dryad"  # fmt: skip


def test_truncated_subject_file_is_named(cnd_dirs, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(cnd_dirs["dict"], root)
    path = root / "datasetCND_musicImagery" / "dataCND" / "dataSub2.mat"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"dataSub2\.mat.*truncated"):
        load_mos(root, audio_sfreq=SR)


def test_trial_with_unexpected_shape_is_named(stimuli, tmp_path):
    base = write_mos_cnd(tmp_path, stimuli, subjects=(1,), n_reps=1)
    path = base / "dataCND" / "dataSub1.mat"
    eeg = sio.loadmat(path, simplify_cells=True)["eeg"]
    eeg["data"][2] = eeg["data"][2].T  # channels x time instead of time x channels
    sio.savemat(path, {"eeg": eeg})
    with pytest.raises(ValueError, match=r"eeg\.data\{3\}.*\(64, 320\).*\(320, 64\)"):
        load_mos(tmp_path, audio_sfreq=SR)


def test_audio_problems(stimuli, tmp_path):
    base = write_mos_cnd(tmp_path, stimuli, subjects=(1,), n_reps=1)
    wav = base / "stimuli" / "audio" / "chor-101.wav"
    short = stimuli["chor-101"]["wav"][: int((stimuli["chor-101"]["start_seconds"] + 3) * 44100)]
    write_wav(wav, short, 44100)
    with pytest.raises(ValueError, match=r"chor-101.*too short"):
        load_mos(tmp_path, audio_sfreq=SR)
    write_wav(wav, stimuli["chor-101"]["wav"][:, 1], 44100)  # mono
    with pytest.raises(ValueError, match="stereo"):
        load_mos(tmp_path, audio_sfreq=SR)
    silent = stimuli["chor-101"]["wav"].copy()
    silent[:, 0] = 0.0
    write_wav(wav, silent, 44100)
    with pytest.raises(ValueError, match="audio_offset"):
        load_mos(tmp_path, audio_sfreq=SR)


def test_bad_arguments(cnd_dirs):
    with pytest.raises(ValueError, match="conditions"):
        load_mos(cnd_dirs["dict"], conditions=("perceived",))
    with pytest.raises(ValueError, match="audio_sfreq / sfreq must be an integer"):
        load_mos(cnd_dirs["dict"], audio_sfreq=44100)
    with pytest.raises(ValueError, match="segment_seconds"):
        load_mos(cnd_dirs["dict"], segment_seconds=60.0, audio_sfreq=SR)


def test_nan_eeg_in_a_cnd_trial_names_the_file_trial_and_channel(stimuli, tmp_path):
    base = write_mos_cnd(tmp_path, stimuli, subjects=(1,), n_reps=1)
    path = base / "dataCND" / "dataSub1.mat"
    eeg = sio.loadmat(path, simplify_cells=True)["eeg"]
    eeg["data"][2][128, BIOSEMI64.index("Fz")] = np.nan  # trial 3, 2 s at 64 Hz
    sio.savemat(path, {"eeg": eeg})
    pattern = (
        rf"eeg\.data\{{3\}} in {re.escape(str(path))} holds NaN or infinite EEG values in "
        r"channel\(s\) Fz \(1 value\) of 64, first at 2\.000 s"
    )
    with pytest.raises(ValueError, match=pattern):
        load_mos(tmp_path, audio_sfreq=SR)
    # Trial 3 is a listening trial: imagery alone does not read it.
    assert np.isfinite(load_mos(tmp_path, conditions=["imagery"], audio_sfreq=SR).X).all()


def test_inf_eeg_in_a_dryad_trial_names_the_trial_and_channel(stimuli, tmp_path):
    write_mos_dryad(tmp_path, stimuli, n_participants=1, n_reps=1)
    path = tmp_path / "ImageryData.mat"
    mat = sio.loadmat(path, squeeze_me=False)
    mat["eeg"][0, 0][0, 1][0, 2][10, BIOSEMI64.index("F5")] = -np.inf
    sio.savemat(path, {k: mat[k] for k in ("eeg", "stim", "downFs")})
    with pytest.raises(ValueError, match=r"eeg\{1\}\{2\}\{3\} in .*ImageryData\.mat.* F5 \("):
        load_mos(tmp_path, audio_sfreq=SR)


def test_nan_in_a_stored_stimulus_feature_is_named(stimuli, tmp_path):
    base = write_mos_cnd(tmp_path, stimuli, subjects=(1,), n_reps=1)
    path = base / "dataCND" / "dataStim.mat"
    stim = sio.loadmat(path, simplify_cells=True)["stim"]
    stim["data"][0, 1] = stim["data"][0, 1].astype(float)
    stim["data"][0, 1][7] = np.nan
    sio.savemat(path, {"stim": stim})
    with pytest.raises(ValueError, match=r"stim\.data\{1,2\} in .*dataStim\.mat.*NaN"):
        load_mos(tmp_path, audio_sfreq=SR)


def test_nan_audio_names_the_file_and_gives_no_eeg_advice(stimuli, tmp_path):
    base = write_mos_cnd(tmp_path, stimuli, subjects=(1,), n_reps=1)
    wav = base / "stimuli" / "audio" / "chor-101.wav"
    audio = stimuli["chor-101"]["wav"].copy()
    audio[44100, 0] = np.inf  # the metronome channel, at 1 s
    write_wav(wav, audio, 44100, subtype="FLOAT")
    with pytest.raises(ValueError) as info:
        load_mos(tmp_path, audio_sfreq=SR)
    msg = str(info.value)
    assert str(wav) in msg and "audio channel(s) 1 (1 sample) of 2, first at 1.000 s" in msg
    assert "EEG" not in msg and "interpolate" not in msg.lower()
