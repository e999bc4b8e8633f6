"""from_mne: any MNE recording plus its audio."""

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
