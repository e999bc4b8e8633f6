"""load_nmedt on small files written in the published NMED-T layout."""

import re

import h5py
import numpy as np
import pytest
import scipy.io as sio
from _writers import (
    click_track,
    nmedt_eeg,
    nmedt_subject_ids,
    write_nmedt_song,
    write_wav,
)

from sk_eeg2music import load_nmedt
from sk_eeg2music.datasets import nmedt as nmedt_module
from sk_eeg2music.datasets._matfile import mat_version

SONGS = {21: 400, 22: 330}  # samples per song (the real songs differ in length too)
N_SUB = 3
FORMATS = ("v5", "v5z", "v73")


@pytest.fixture(scope="module")
def nmedt_dirs(tmp_path_factory):
    dirs = {}
    for fmt in FORMATS:
        folder = tmp_path_factory.mktemp(f"nmedt_{fmt}")
        for song, n_times in SONGS.items():
            write_nmedt_song(folder, song, nmedt_eeg(song, n_times, N_SUB), fmt=fmt)
        dirs[fmt] = folder
    return dirs


def _expected_x(song, participant, segment, seg_len, scale=1e-6):
    stored = nmedt_eeg(song, SONGS[song], N_SUB)[:, segment * seg_len : (segment + 1) * seg_len]
    return (stored[:, :, participant] * scale).astype(np.float32)


def test_fixture_files_have_the_published_layout(nmedt_dirs):
    # The third-party access patterns quoted in the reference work on the fixtures.
    path = nmedt_dirs["v5"] / "song21_Imputed.mat"
    m = sio.loadmat(path)
    assert m["data21"].shape == (125, SONGS[21], N_SUB)
    assert int(m["fs"][0][0]) == 125
    assert [item[0] for item in m["subs21"][0]] == nmedt_subject_ids(N_SUB)
    m = sio.loadmat(path, squeeze_me=True)
    assert [str(s) for s in np.asarray(m["subs21"]).ravel()] == nmedt_subject_ids(N_SUB)
    v73 = nmedt_dirs["v73"] / "song21_Imputed.mat"
    assert open(v73, "rb").read(19) == b"MATLAB 7.3 MAT-file"
    with h5py.File(v73, "r") as f:  # h5py shows MATLAB arrays with reversed axes
        assert f["data21"].shape == (N_SUB, SONGS[21], 125)
    assert [mat_version(nmedt_dirs[f] / "song21_Imputed.mat") for f in FORMATS] == ["5", "5", "7.3"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_shapes_labels_and_values(nmedt_dirs, fmt):
    data = load_nmedt(nmedt_dirs[fmt], songs=[21, 22], segment_seconds=1.0)
    n_seg = {21: 3, 22: 2}  # 400 // 125 and 330 // 125
    assert data.X.shape == (N_SUB * 5, 125, 125)
    assert data.X.dtype == np.float32 and data.y is None
    assert data.sfreq == 125.0
    ids = nmedt_subject_ids(N_SUB)
    row = 0
    for song in (21, 22):
        for p in range(N_SUB):
            for k in range(n_seg[song]):
                assert (data.stimulus[row], data.subject[row], data.segment[row]) == (
                    f"song{song}",
                    ids[p],
                    k,
                )
                np.testing.assert_array_equal(data.X[row], _expected_x(song, p, k, 125))
                row += 1
    assert set(data.condition) == {"listening"}
    assert data.ch_names == [f"E{i}" for i in range(1, 125)] + ["Cz"]
    pos = data.info.get_montage().get_positions()["ch_pos"]
    assert len(pos) == 125 and np.linalg.norm(pos["Cz"]) > 0
    assert data.description["mat_format"]["song21"] == ("7.3" if fmt == "v73" else "5")
    with pytest.raises(ValueError, match="audio_dir"):
        data.require_y()


def test_eeg_scale_one_returns_stored_values(nmedt_dirs):
    data = load_nmedt(nmedt_dirs["v5"], songs=21, segment_seconds=1.0, eeg_scale=1.0)
    np.testing.assert_array_equal(data.X[4], _expected_x(21, 1, 1, 125, scale=1.0))


def test_whole_songs_are_cut_to_the_shortest(nmedt_dirs):
    data = load_nmedt(nmedt_dirs["v5"], segment_seconds=None, songs=["song21", "22"])
    assert data.X.shape == (2 * N_SUB, 125, min(SONGS.values()))
    assert set(data.segment) == {0}
    np.testing.assert_array_equal(data.X[0], _expected_x(21, 0, 0, min(SONGS.values())))


@pytest.mark.parametrize("fmt", FORMATS)
def test_subject_selection_reads_only_those_participants(nmedt_dirs, fmt, monkeypatch):
    asked = []
    original = nmedt_module.iter_last_axis

    def spy(path, name, indices):
        asked.append(list(indices))
        return original(path, name, indices)

    monkeypatch.setattr(nmedt_module, "iter_last_axis", spy)
    data = load_nmedt(nmedt_dirs[fmt], songs=[22], subjects=["S04", 2], segment_seconds=1.0)
    assert asked == [[0, 2]]
    assert list(data.subject) == ["S02", "S02", "S04", "S04"]
    np.testing.assert_array_equal(data.X[2], _expected_x(22, 2, 0, 125))


def test_unselected_participants_are_not_read_from_disk(tmp_path):
    # Damage participant 0's bytes in an uncompressed file: loading another one still works.
    data = nmedt_eeg(21, SONGS[21], N_SUB)
    path = write_nmedt_song(tmp_path, 21, data)
    raw = bytearray(path.read_bytes())
    block = data[:, :, 0].tobytes(order="F")
    at = raw.find(block)
    assert at > 0
    raw[at : at + len(block)] = np.full(len(block) // 8, np.nan).tobytes()
    path.write_bytes(bytes(raw))
    ok = load_nmedt(tmp_path, songs=[21], subjects=["S03"], segment_seconds=1.0)
    assert np.isfinite(ok.X).all()
    with pytest.raises(ValueError, match=r"data21\(:, :, 1\) \(participant S02\)"):
        load_nmedt(tmp_path, songs=[21], subjects=["S02"], segment_seconds=1.0)


@pytest.mark.parametrize("fmt, bad", [("v5", np.nan), ("v73", np.inf), ("v5z", -np.inf)])
def test_nan_or_inf_eeg_names_the_file_participant_and_channel(tmp_path, fmt, bad):
    data = nmedt_eeg(21, SONGS[21], N_SUB)
    data[10, 130, 1] = bad  # channel E11, 1.04 s, participant S03
    path = write_nmedt_song(tmp_path, 21, data, fmt=fmt)
    pattern = (
        rf"data21\(:, :, 2\) \(participant S03\) in {re.escape(str(path))} holds NaN or "
        r"infinite EEG values in channel\(s\) E11 \(1 value\) of 125, first at 1\.040 s"
    )
    with pytest.raises(ValueError, match=pattern):
        load_nmedt(tmp_path, songs=[21], segment_seconds=1.0)
    # The other participants load, and so does a bad sample in the unused tail.
    ok = load_nmedt(tmp_path, songs=[21], subjects=["S02", "S04"], segment_seconds=1.0)
    assert np.isfinite(ok.X).all()
    data[10, 130, 1] = 0.0
    data[10, -1, 1] = bad  # 400 samples: segments of 125 use the first 375
    write_nmedt_song(tmp_path, 21, data, fmt=fmt)
    assert np.isfinite(load_nmedt(tmp_path, songs=[21], segment_seconds=1.0).X).all()


def test_nan_audio_names_the_file_and_gives_no_eeg_advice(nmedt_dirs, tmp_path):
    paths = _write_audio(tmp_path, clicks={21: 1.0})
    audio = click_track(5.0, 22050, [1.0], n_channels=2, seed=21)
    audio[22050 * 2, 1] = np.nan  # channel 2 at 2 s
    write_wav(paths[21], audio, 22050, subtype="FLOAT")
    with pytest.raises(ValueError) as info:
        load_nmedt(nmedt_dirs["v5"], audio_dir=tmp_path, songs=[21], segment_seconds=1.0)
    msg = str(info.value)
    assert str(paths[21]) in msg and "audio channel(s) 2 (1 sample) of 2" in msg
    assert "2.000 s" in msg
    assert "EEG" not in msg and "interpolate" not in msg.lower()


def test_unknown_subject_lists_the_participants(nmedt_dirs):
    with pytest.raises(ValueError, match=r"S99.*S02"):
        load_nmedt(nmedt_dirs["v5"], songs=[21], subjects=["S99"])


def _write_audio(folder, sfreq=22050, clicks=None, duration=5.0):
    clicks = {21: 1.7, 22: 0.9} if clicks is None else clicks
    paths = {}
    for song, t in clicks.items():
        audio = click_track(duration, sfreq, [t], n_channels=2, seed=song)
        paths[song] = write_wav(folder / f"song{song}.wav", audio, sfreq)
    return paths


def _first_loud(y, threshold=0.45):
    return int(np.flatnonzero(np.abs(y) > threshold)[0])


def test_audio_is_aligned_with_the_eeg(nmedt_dirs, tmp_path):
    audio_dir = tmp_path / "audio"
    _write_audio(audio_dir)
    # song22 given explicitly as a mono FLAC at another rate, outside audio_dir.
    flac = write_wav(tmp_path / "other" / "oino.flac", click_track(5.0, 44100, [0.9], 1), 44100)
    data = load_nmedt(
        nmedt_dirs["v5"],
        audio_dir=audio_dir,
        audio_files={"song22": flac},
        segment_seconds=1.0,
        audio_sfreq=8000,
        audio_offset={21: 0.5, "22": 0.0},
        songs=[21, 22],
    )
    assert data.y.shape == (len(data), 125 * 64)
    # song21: click at 1.7 s in the file, EEG sample 0 at 0.5 s -> EEG time 1.2 s,
    # i.e. 0.2 s into segment 1.
    rows = np.flatnonzero((data.stimulus == "song21") & (data.segment == 1))
    assert abs(_first_loud(data.y[rows[0]]) - int(0.2 * 8000)) <= 2
    for other in rows[1:]:  # same music for every participant
        np.testing.assert_array_equal(data.y[other], data.y[rows[0]])
    assert np.abs(data.y[(data.stimulus == "song21") & (data.segment == 0)]).max() < 0.2
    rows22 = np.flatnonzero((data.stimulus == "song22") & (data.segment == 0))
    assert abs(_first_loud(data.y[rows22[0]]) - int(0.9 * 8000)) <= 2
    assert data.description["audio_files"]["song22"] == str(flac)


def test_negative_offset_pads_silence(nmedt_dirs, tmp_path):
    _write_audio(tmp_path, clicks={21: 0.1})
    data = load_nmedt(
        nmedt_dirs["v5"], audio_dir=tmp_path, songs=[21], segment_seconds=1.0,
        audio_sfreq=8000, audio_offset=-0.25,
    )  # fmt: skip
    assert np.all(data.y[0, : int(0.25 * 8000)] == 0)
    assert abs(_first_loud(data.y[0]) - int(0.35 * 8000)) <= 2


def test_audio_shorter_than_eeg_is_an_error(nmedt_dirs, tmp_path):
    _write_audio(tmp_path, duration=2.5)  # 400 samples of EEG at 125 Hz need 3.0 s
    with pytest.raises(ValueError, match=r"song21.*too short"):
        load_nmedt(nmedt_dirs["v5"], audio_dir=tmp_path, songs=[21], audio_sfreq=8000,
                   segment_seconds=1.0)  # fmt: skip


def test_missing_audio_file_is_named(nmedt_dirs, tmp_path):
    _write_audio(tmp_path, clicks={21: 1.0})
    with pytest.raises(FileNotFoundError, match=r"song22\.wav"):
        load_nmedt(nmedt_dirs["v5"], audio_dir=tmp_path, songs=[21, 22], segment_seconds=1.0)


def test_missing_files_list_names_and_download_page(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"song21_Imputed\.mat.*purl\.stanford\.edu"):
        load_nmedt(tmp_path / "nowhere")
    write_nmedt_song(tmp_path, 22, nmedt_eeg(22, 200, 2))
    with pytest.raises(FileNotFoundError, match="purl.stanford.edu/jn859kj8079") as err:
        load_nmedt(tmp_path)
    assert "song21_Imputed.mat" in str(err.value) and "songs=" in str(err.value)
    assert "song22_Imputed.mat, " not in str(err.value).split("Download")[0]
    assert load_nmedt(tmp_path, songs=[22], segment_seconds=1.0).X.shape[0] == 2


def test_files_are_found_in_subfolders(tmp_path):
    write_nmedt_song(tmp_path / "nmedt" / "clean", 23, nmedt_eeg(23, 200, 2))
    assert load_nmedt(tmp_path, songs=[23], segment_seconds=1.0).X.shape == (2, 125, 125)


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_file_is_a_value_error_naming_it(tmp_path, fmt):
    path = write_nmedt_song(tmp_path, 21, nmedt_eeg(21, 300, 2), fmt=fmt)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*truncated or corrupt"):
        load_nmedt(tmp_path, songs=[21], segment_seconds=1.0)


def test_garbage_file_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "song21_Imputed.mat"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match=r"song21_Imputed\.mat.*MAT-file"):
        load_nmedt(tmp_path, songs=[21])


def test_unexpected_shape_names_the_variable(tmp_path):
    write_nmedt_song(tmp_path, 21, np.zeros((64, 300, 2)))
    with pytest.raises(
        ValueError, match=r"data21.*\(64, 300, 2\).*\(125, n_times, n_participants\)"
    ):
        load_nmedt(tmp_path, songs=[21])


def test_participant_ids_must_match_the_data(tmp_path):
    write_nmedt_song(tmp_path, 21, nmedt_eeg(21, 300, 3), subs=["S02", "S03"])
    with pytest.raises(ValueError, match=r"subs21.*2 participants.*3"):
        load_nmedt(tmp_path, songs=[21])


def test_bad_arguments(nmedt_dirs):
    with pytest.raises(ValueError, match="audio_sfreq / sfreq must be an integer"):
        load_nmedt(nmedt_dirs["v5"], songs=[21], audio_sfreq=16001)
    with pytest.raises(ValueError, match="longer than the shortest selected song"):
        load_nmedt(nmedt_dirs["v5"], songs=[21, 22], segment_seconds=3.0)
    with pytest.raises(ValueError, match="songs are numbered 21-30"):
        load_nmedt(nmedt_dirs["v5"], songs=[31])
