"""from_mne: any MNE recording plus its audio."""

import re

import mne
import numpy as np
import pytest
from _writers import click_track, write_wav

from sk_eeg2music import from_mne

SFREQ = 100.0
AUDIO_SR = 8000  # 80 audio samples per EEG sample
FIRST_SAMP = 1000


def _raw(n_times=2000):
    """8 EEG channels + a stim channel; EEG channel 0 holds the absolute sample index."""
    names = ["Fz", "Cz", "Pz", "Oz", "C3", "C4", "T7", "T8", "STI"]
    info = mne.create_info(names, SFREQ, ["eeg"] * 8 + ["stim"])
    rng = np.random.default_rng(0)
    data = 1e-6 * rng.standard_normal((9, n_times))
    data[0] = (np.arange(n_times) + FIRST_SAMP) * 1e-6
    data[8] = 0
    info.set_montage("biosemi64", on_missing="ignore")
    return mne.io.RawArray(data, info, first_samp=FIRST_SAMP, verbose="error")


def _audio(click_at, duration=4.0, sr=22050, seed=0):
    return click_track(duration, sr, [click_at], n_channels=2, seed=seed), sr


def _first_loud(y, threshold=0.45):
    return int(np.flatnonzero(np.abs(y) > threshold)[0])


EVENTS = np.array([[FIRST_SAMP + 100, 0, 1], [FIRST_SAMP + 700, 0, 2], [FIRST_SAMP + 1300, 0, 3]])
EVENT_ID = {"tone/listening": 1, "tone/imagery": 2, "beep": 3}


@pytest.fixture
def audio():
    return {"tone": _audio(1.25), "beep": _audio(0.5, seed=1)}


def test_raw_with_events(audio):
    data = from_mne(_raw(), audio, EVENTS, EVENT_ID, audio_sfreq=AUDIO_SR, duration=3.0,
                    subject="P01", segment_seconds=1.5)  # fmt: skip
    assert data.X.shape == (6, 8, 150) and data.y.shape == (6, 150 * 80)
    assert list(data.stimulus) == ["tone", "tone", "tone", "tone", "beep", "beep"]
    assert list(data.condition) == ["listening"] * 2 + ["imagery"] * 2 + ["listening"] * 2
    assert list(data.segment) == [0, 1] * 3 and set(data.subject) == {"P01"}
    assert "STI" not in data.ch_names and len(data.ch_names) == 8
    # EEG sample 0 of each trial is the event sample (channel 0 holds the sample index).
    starts = np.rint(data.X[:, 0, 0] / 1e-6).astype(int)
    np.testing.assert_array_equal(starts, [1100, 1250, 1700, 1850, 2300, 2450])
    # Audio time 0 is the event: tone clicks at 1.25 s (segment 0), beep at 0.5 s.
    assert abs(_first_loud(data.y[0]) - 1.25 * AUDIO_SR) <= 2
    assert abs(_first_loud(data.y[4]) - 0.5 * AUDIO_SR) <= 2
    np.testing.assert_array_equal(data.y[0], data.y[2])
    assert data.info.get_montage() is not None


def test_tmin_shifts_eeg_and_audio_together(audio):
    data = from_mne(_raw(), audio, EVENTS, {"tone": 1}, audio_sfreq=AUDIO_SR, tmin=0.25,
                    duration=2.0)  # fmt: skip
    assert len(data) == 1
    assert round(data.X[0, 0, 0] / 1e-6) == FIRST_SAMP + 100 + 25
    assert abs(_first_loud(data.y[0]) - 1.0 * AUDIO_SR) <= 2
    before = from_mne(_raw(), audio, EVENTS, {"tone": 1}, audio_sfreq=AUDIO_SR, tmin=-0.5,
                      duration=2.0)  # fmt: skip
    assert np.all(before.y[0, : int(0.5 * AUDIO_SR)] == 0)
    assert abs(_first_loud(before.y[0]) - 1.75 * AUDIO_SR) <= 2


def test_epochs_match_raw(audio):
    raw = _raw()
    epochs = mne.Epochs(raw, EVENTS, EVENT_ID, tmin=-0.2, tmax=3.5, baseline=None,
                        preload=True, verbose="error")  # fmt: skip
    from_epochs = from_mne(epochs, audio, audio_sfreq=AUDIO_SR, duration=3.0)
    from_raw = from_mne(raw, audio, EVENTS, EVENT_ID, audio_sfreq=AUDIO_SR, duration=3.0)
    np.testing.assert_array_equal(from_epochs.X, from_raw.X)
    np.testing.assert_array_equal(from_epochs.y, from_raw.y)
    np.testing.assert_array_equal(from_epochs.condition, from_raw.condition)
    with pytest.raises(ValueError, match="epochs span"):
        from_mne(epochs, audio, audio_sfreq=AUDIO_SR, duration=4.0)


def test_file_paths(tmp_path):
    raw = _raw()
    fif = tmp_path / "sub-01_raw.fif"
    raw.save(fif, verbose="error")
    wav = write_wav(tmp_path / "song.wav", *_audio(1.25))
    data = from_mne(fif, wav, EVENTS[:1], audio_sfreq=AUDIO_SR)
    # Default duration: as long as the audio (4.0 s); name of the single audio: file stem.
    assert data.X.shape == (1, 8, 400) and list(data.stimulus) == ["song"]
    assert data.subject[0] == "unknown"
    assert round(data.X[0, 0, 0] / 1e-6) == FIRST_SAMP + 100


def test_no_events_means_the_audio_starts_with_the_recording():
    data = from_mne(_raw(), _audio(0.5), audio_sfreq=AUDIO_SR, segment_seconds=1.0)
    assert data.X.shape == (4, 8, 100)
    assert round(data.X[0, 0, 0] / 1e-6) == FIRST_SAMP


def test_errors(audio, tmp_path):
    raw = _raw()
    late = np.array([[FIRST_SAMP + 1900, 0, 1]])
    with pytest.raises(ValueError, match="recording lasts"):
        from_mne(raw, audio, late, {"tone": 1}, audio_sfreq=AUDIO_SR, duration=2.0)
    with pytest.raises(ValueError, match="too short"):
        from_mne(raw, audio, EVENTS, {"tone": 1}, audio_sfreq=AUDIO_SR, duration=5.0)
    with pytest.raises(ValueError, match="audio_sfreq / sfreq must be an integer"):
        from_mne(raw, audio, EVENTS, EVENT_ID, audio_sfreq=16050)
    with pytest.raises(ValueError, match="names no audio"):
        from_mne(raw, audio, EVENTS, {"drum/listening": 1}, audio_sfreq=AUDIO_SR)
    with pytest.raises(ValueError, match=r"shape \(n_events, 3\)"):
        from_mne(raw, audio, EVENTS[:, :2], audio_sfreq=AUDIO_SR)
    with pytest.raises(ValueError, match="single"):
        from_mne(raw, audio, audio_sfreq=AUDIO_SR)
    with pytest.raises(FileNotFoundError):
        from_mne(tmp_path / "missing_raw.fif", audio, audio_sfreq=AUDIO_SR)
    with pytest.raises(ValueError, match="Raw or Epochs"):
        from_mne(np.zeros((8, 100)), audio, audio_sfreq=AUDIO_SR)


def _raw_with_bad_sample(value=np.nan, channel="Cz", sample=750):
    raw = _raw()
    raw._data[raw.ch_names.index(channel), sample] = value  # 7.5 s into the recording
    return raw


def test_nan_eeg_names_the_recording_event_and_channel(audio, tmp_path):
    raw = _raw_with_bad_sample()
    fif = tmp_path / "sub-01_raw.fif"
    raw.save(fif, verbose="error")
    pattern = (
        rf"event 1 \(tone\) of {re.escape(str(fif))} holds NaN or infinite EEG values in "
        r"channel\(s\) Cz \(1 value\) of 8, first at 7\.500 s.*info\['bads'\]"
    )
    with pytest.raises(ValueError, match=pattern):
        from_mne(fif, audio, EVENTS, EVENT_ID, audio_sfreq=AUDIO_SR, duration=3.0)
    # The fix the message gives: mark the channel bad, and picks="eeg" leaves it out.
    raw.info["bads"] = ["Cz"]
    data = from_mne(raw, audio, EVENTS, EVENT_ID, audio_sfreq=AUDIO_SR, duration=3.0)
    assert "Cz" not in data.ch_names and np.isfinite(data.X).all()
    # An event whose window misses the bad sample loads.
    assert len(from_mne(raw, audio, EVENTS, {"beep": 3}, audio_sfreq=AUDIO_SR, duration=3.0)) == 1


def test_inf_eeg_in_epochs_names_the_epoch(audio):
    epochs = mne.Epochs(_raw_with_bad_sample(np.inf, "T8"), EVENTS, EVENT_ID, tmin=-0.2,
                        tmax=3.5, baseline=None, preload=True, verbose="error")  # fmt: skip
    with pytest.raises(ValueError, match=r"epoch 1 \(tone\) of the Epochs object .* T8 \("):
        from_mne(epochs, audio, audio_sfreq=AUDIO_SR, duration=3.0)


def test_nan_audio_is_named_without_eeg_advice(audio, tmp_path):
    wave, sr = audio["tone"]
    wave = wave.copy()
    wave[sr, 0] = np.nan
    wav = write_wav(tmp_path / "tone.wav", wave, sr, subtype="FLOAT")
    for source, name in (((wave, sr), "the waveform of tone"), (wav, f"the audio file {wav}")):
        with pytest.raises(ValueError) as info:
            from_mne(_raw(), {**audio, "tone": source}, EVENTS, EVENT_ID, audio_sfreq=AUDIO_SR)
        msg = str(info.value)
        assert msg.startswith(f"{name} holds NaN or infinite samples in audio channel(s) 1 ")
        assert "first at 1.000 s" in msg and "EEG" not in msg


# ---------------------------------------------------------------- read_epochs
def _epochs_file(tmp_path, his_id="P07"):
    info = mne.create_info(["Fz", "Cz", "Pz", "EOG"], SFREQ, ["eeg"] * 3 + ["eog"])
    info["bads"] = ["Pz"]
    info["subject_info"] = {"his_id": his_id}
    data = np.arange(3 * 4 * 50, dtype=float).reshape(3, 4, 50) * 1e-6
    events = np.array([[0, 0, 1], [100, 0, 2], [200, 0, 3]])
    event_id = {"chor-096/imagery": 1, "Listening/chor-038": 2, "beep": 3}
    path = tmp_path / "sub-07-epo.fif"
    mne.EpochsArray(data, info, events, event_id=event_id, verbose="error").save(
        path, verbose="error"
    )
    return path, data


def test_read_epochs_labels_trials_as_from_mne_does(tmp_path):
    from sk_eeg2music.datasets import read_epochs

    path, data = _epochs_file(tmp_path)
    X, labels, sfreq, ch_names = read_epochs(path)
    assert sfreq == SFREQ and ch_names == ["Fz", "Cz"]  # EEG channels, bads left out
    assert X.dtype == np.float32 and X.shape == (3, 2, 50)
    np.testing.assert_allclose(X, data[:, :2], rtol=1e-6)
    assert labels.stimulus.tolist() == ["chor-096", "chor-038", "beep"]
    assert labels.condition.tolist() == ["imagery", "listening", ""]
    assert labels.subject.tolist() == ["P07"] * 3 and labels.segment.tolist() == [0, 1, 2]
    # Channels asked for by name come in that order, bad or not; the subject can be set.
    X, labels, _, ch_names = read_epochs(path, ch_names=["Pz", "Fz"], subject="sub-07")
    assert ch_names == ["Pz", "Fz"] and set(labels.subject) == {"sub-07"}
    np.testing.assert_allclose(X, data[:, [2, 0]], rtol=1e-6)


def test_read_epochs_reads_npy_with_its_rate(tmp_path):
    from sk_eeg2music.datasets import read_epochs

    path = tmp_path / "trials.npy"
    np.save(path, np.ones((2, 3, 10)))
    X, labels, sfreq, ch_names = read_epochs(path, 64)
    assert X.shape == (2, 3, 10) and sfreq == 64.0 and ch_names is None
    assert labels.stimulus.tolist() == ["trials"] * 2 and labels.subject.tolist() == ["unknown"] * 2


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such file"),
        ("npy-no-rate", "carries no sampling rate; pass sfreq"),
        ("npy-2d", "must hold EEG of shape"),
        ("npy-objects", "not a plain numeric .npy array"),
        ("csv", "expected an MNE Epochs file"),
        ("raw-fif", "not a readable MNE Epochs file"),
        ("fif-rate", "sfreq=50 differs from the rate stored"),
    ],
)
def test_read_epochs_refuses_bad_files(case, message, tmp_path):
    from sk_eeg2music.datasets import read_epochs

    path, sfreq = tmp_path / "x.npy", 64
    if case == "npy-no-rate":
        np.save(path, np.ones((2, 3, 10)))
        sfreq = None
    elif case == "npy-2d":
        np.save(path, np.ones((3, 10)))
    elif case == "npy-objects":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif case == "csv":
        path = tmp_path / "x.csv"
        path.write_text("1,2\n")
    elif case == "raw-fif":
        path = tmp_path / "x_raw.fif"
        _raw().save(path, verbose="error")
        sfreq = None
    elif case == "fif-rate":
        path, sfreq = _epochs_file(tmp_path)[0], 50
    with pytest.raises(ValueError, match=re.escape(message)):
        read_epochs(path, sfreq)
