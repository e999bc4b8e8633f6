"""sk_eeg2music.audio: features, their inversion to waveforms, and the carriers."""

import librosa
import numpy as np
import pytest
import scipy.signal

from sk_eeg2music.audio import (
    _carrier,
    _istft,
    _mel_to_stft,
    _nnls_blocks,
    _stft,
    envelope_to_waveform,
    frame_envelope,
    log_mel_spectrogram,
    mel_params,
    mel_to_waveform,
)

SR, HOP = 8000, 125  # 64 frames per second, as a 64 Hz EEG


def _tones(n_trials=3, seconds=1.0, seed=0):
    """Amplitude-modulated tones in [-1, 1], one pitch and one modulation per trial."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(200, 1500, (n_trials, 1))
    am = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(1, 4, (n_trials, 1)) * t)
    return (0.5 * am * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def _mel_kwargs():
    params = mel_params(SR, HOP)
    return {k: params[k] for k in ("fmin", "fmax", "htk", "norm")}, params["n_fft"]


# ----------------------------------------------------------------------------- features


def test_frame_envelope_known_values():
    y = np.concatenate([np.full(HOP * 2, 0.5), np.full(HOP * 2, -0.25)])[np.newaxis]
    np.testing.assert_allclose(frame_envelope(y, HOP, power=1.0), [[0.5, 0.5, 0.25, 0.25]])
    np.testing.assert_allclose(frame_envelope(y, HOP, power=0.5), [[0.5**0.5] * 2 + [0.5] * 2])


def test_mel_params_and_frame_count():
    params = mel_params(SR, HOP)
    # Two hops, rounded up to a power of two, and at least 32 ms.
    assert params["n_fft"] == 256 and params["fmax"] == SR / 2
    logmel = log_mel_spectrogram(_tones(2, seconds=0.5), SR, HOP, n_mels=16)
    assert logmel.shape == (2, 16, int(0.5 * SR) // HOP)


def test_log_mel_is_computed_in_blocks_of_trials(monkeypatch):
    # The complex spectra of a whole training set would be ~2x its audio (several GB
    # at the real datasets' scale): blocks of trials keep them bounded, with the same
    # output (up to float32 rounding, which librosa's batched STFT already varies with
    # the batch size) whatever the block size.
    import tracemalloc

    import sk_eeg2music.audio as audio

    y = np.random.default_rng(0).standard_normal((20, 20, SR), dtype=np.float32) * 0.1
    whole = log_mel_spectrogram(y, SR, HOP, n_mels=16)  # one block; also warms caches
    spectra = 8 * (mel_params(SR, HOP)["n_fft"] // 2 + 1) * (SR // HOP + 1)  # one trial
    monkeypatch.setattr(audio, "_STFT_BLOCK_BYTES", 4 * spectra)
    tracemalloc.start()
    try:
        blocks = log_mel_spectrogram(y, SR, HOP, n_mels=16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert blocks.shape == (20, 20, 16, SR // HOP) and blocks.dtype == np.float32
    np.testing.assert_allclose(blocks, whole, atol=1e-5)
    np.testing.assert_allclose(
        blocks[3, 2], log_mel_spectrogram(y[3, 2], SR, HOP, n_mels=16), atol=1e-5
    )
    # Blocks of 4 of the 400 trials: the output, one block's spectra and librosa's
    # fixed temporaries (3.0 MB), not 1.6 x the spectra of all 400 (42 MB in one block).
    assert peak < 0.25 * 400 * spectra


# ----------------------------------------------------------------------------- mel inversion


def test_nnls_blocks_follow_librosa():
    # librosa.util.nnls solves up to MAX_MEM_BLOCK // (n_mels * itemsize) frames at once.
    n_columns = librosa.util.MAX_MEM_BLOCK // (32 * 4)
    assert _nnls_blocks(32, 100, 4) == [(0, 100)]
    assert _nnls_blocks(32, n_columns + 5, 4) == [(0, n_columns), (n_columns, n_columns + 5)]


def test_mel_to_stft_equals_librosa_per_trial():
    """Quiet trials (librosa's solver stops at its start) and a loud one (it moves)."""
    kwargs, n_fft = _mel_kwargs()
    y = _tones(3)
    y[2] *= 400.0  # far beyond [-1, 1]: the scaled gradient exceeds L-BFGS-B's pgtol
    mel = librosa.feature.melspectrogram(
        y=y, sr=SR, n_fft=n_fft, hop_length=HOP, n_mels=32, **kwargs
    )
    got = _mel_to_stft(mel, SR, n_fft, **kwargs)
    assert got.shape == (3, n_fft // 2 + 1, mel.shape[-1]) and got.dtype == np.float32
    basis = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=32, **kwargs)
    start = np.sqrt(np.clip(np.linalg.pinv(basis) @ mel, 0, None))
    for i in range(3):
        expected = librosa.feature.inverse.mel_to_stft(mel[i], sr=SR, n_fft=n_fft, **kwargs)
        np.testing.assert_allclose(got[i], expected, rtol=1e-4, atol=1e-6 * expected.max())
    # The loud trial really needed the solver, the quiet ones did not.
    assert not np.allclose(start[2], got[2], rtol=1e-3)
    np.testing.assert_allclose(start[:2], got[:2], rtol=1e-4, atol=1e-7)


def test_stft_and_istft_equal_librosa_on_a_batch():
    n_fft = mel_params(SR, HOP)["n_fft"]
    y = _tones(3)
    window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    S = _stft(y, n_fft, HOP, window)
    expected = librosa.stft(y, n_fft=n_fft, hop_length=HOP, pad_mode="constant")
    assert S.shape == expected.shape[:-2] + expected.shape[:-3:-1] and S.dtype == np.complex64
    np.testing.assert_allclose(np.swapaxes(S, -1, -2), expected, atol=1e-5 * np.abs(expected).max())
    n_frames = expected.shape[-1]
    wss = librosa.filters.window_sumsquare(
        window="hann", n_frames=n_frames, n_fft=n_fft, hop_length=HOP, dtype=np.float32
    )
    wss = librosa.util.fix_length(wss[n_fft // 2 :], size=y.shape[1])
    back = _istft(S, n_fft, HOP, y.shape[1], window, 1.0 / wss)
    np.testing.assert_allclose(
        back, librosa.istft(expected, n_fft=n_fft, hop_length=HOP, length=y.shape[1]), atol=1e-6
    )
    np.testing.assert_allclose(back, y, atol=1e-6)  # perfect reconstruction


def test_mel_to_waveform_equals_librosa_griffinlim_per_trial():
    kwargs, n_fft = _mel_kwargs()
    y = _tones(3)
    logmel = log_mel_spectrogram(y, SR, HOP)
    got = mel_to_waveform(logmel, SR, HOP, y.shape[1], n_iter=4, random_state=3)
    assert got.shape == y.shape and got.dtype == np.float32
    mel = np.clip(np.exp(logmel.astype(np.float64)) - 1e-8, 0, None).astype(np.float32)
    mel = np.concatenate([mel, mel[..., -1:]], axis=-1)  # 1 + n_audio // hop STFT frames
    for i in range(3):
        mag = librosa.feature.inverse.mel_to_stft(mel[i], sr=SR, n_fft=n_fft, **kwargs)
        expected = librosa.griffinlim(
            mag,
            n_iter=4,
            hop_length=HOP,
            n_fft=n_fft,
            length=y.shape[1],
            pad_mode="constant",
            random_state=np.random.RandomState(3),
        )
        np.testing.assert_allclose(got[i], expected, atol=1e-4 * np.abs(expected).max())


def test_mel_to_waveform_batch_independent_and_silent():
    y = _tones(3)
    logmel = log_mel_spectrogram(y, SR, HOP)
    logmel[1] = np.log(1e-8)  # silence: the floor log_mel_spectrogram adds
    wave = mel_to_waveform(logmel, SR, HOP, y.shape[1], n_iter=4)
    np.testing.assert_array_equal(wave[1], 0.0)
    np.testing.assert_array_equal(
        mel_to_waveform(logmel[2:], SR, HOP, y.shape[1], n_iter=4), wave[2:]
    )


def test_mel_round_trip():
    """The waveform's log-mel follows the log-mel it was made from."""
    y = _tones(2)
    logmel = log_mel_spectrogram(y, SR, HOP)
    again = log_mel_spectrogram(mel_to_waveform(logmel, SR, HOP, y.shape[1]), SR, HOP)
    for a, b in zip(logmel, again):
        assert np.argmax(a.mean(axis=1)) == np.argmax(b.mean(axis=1))  # the tone's band
        # Within 20 dB of the loudest bin the mel power comes back within 10 % (median);
        # Griffin-Lim leaks some energy into the quiet bands, which are left out.
        loud = a > a.max() - 2 * np.log(10)
        assert np.median(np.abs(a - b)[loud]) < 0.1


# ----------------------------------------------------------------------------- envelope


@pytest.mark.parametrize("kind", ["pink", "white", 440.0])
def test_carrier_unit_rms_and_seeded(kind):
    c = _carrier(kind, SR, SR, 0)
    assert c.shape == (SR,)
    # Pink and the tone are exactly unit-RMS; white noise is in expectation (6 sigma).
    rel = 6 / np.sqrt(2 * SR) if kind == "white" else 1e-6
    assert np.sqrt(np.mean(c**2)) == pytest.approx(1.0, rel=rel)
    np.testing.assert_array_equal(c, _carrier(kind, SR, SR, 0))
    if kind != 440.0:
        assert not np.array_equal(c, _carrier(kind, SR, SR, 1))


def test_carrier_spectra():
    tone = _carrier(440.0, SR, SR, None)
    assert np.argmax(np.abs(np.fft.rfft(tone))) == 440  # 1 Hz bins over 1 s
    # Pink: power falls as 1/f, a slope of -1 in log-log (white: 0).
    freqs = np.fft.rfftfreq(SR, 1 / SR)[1:]
    for kind, slope in (("pink", -1.0), ("white", 0.0)):
        power = np.abs(np.fft.rfft(_carrier(kind, SR, SR, 0)))[1:] ** 2
        fitted = np.polyfit(np.log(freqs), np.log(power), 1)[0]
        assert fitted == pytest.approx(slope, abs=0.1)
    with pytest.raises(ValueError, match="carrier must be"):
        _carrier("brown", SR, SR, 0)


def test_envelope_to_waveform_known_values():
    env = np.array([[0.5, 0.5, -0.2, 0.0], [0.3, 0.3, 0.3, 0.3]])
    wave = envelope_to_waveform(env, HOP, power=0.5, carrier="white", seed=0)
    assert wave.shape == (2, 4 * HOP) and wave.dtype == np.float32
    white = _carrier("white", 4 * HOP, HOP, 0)
    # A constant envelope e gives the unit-RMS carrier times e ** (1 / power).
    np.testing.assert_allclose(wave[1], 0.3**2 * white, rtol=1e-5)
    # Negative decoded values are clipped to silence (after the linear ramp down).
    np.testing.assert_array_equal(wave[0, 3 * HOP :], 0.0)
    np.testing.assert_allclose(wave[0, : HOP + HOP // 2], 0.25 * white[: HOP + HOP // 2], rtol=1e-5)


def test_envelope_round_trip():
    """frame_envelope of the waveform follows the envelope it was made from."""
    t = np.arange(64) / 64
    env = (0.3 + 0.2 * np.sin(2 * np.pi * 2 * t))[np.newaxis]
    wave = envelope_to_waveform(env, HOP, power=0.5, carrier="pink", audio_sfreq=SR)
    again = frame_envelope(wave, HOP, power=0.5)
    assert np.corrcoef(env[0], again[0])[0, 1] > 0.95
    np.testing.assert_allclose(again.mean(), env.mean(), rtol=0.1)
