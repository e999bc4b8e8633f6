"""The DDSP-style decoder: sinusoid bank, filtered noise, the module, decoder-only training."""

import librosa
import numpy as np
import pytest
import torch

from sk_eeg2music.models.gan import ReconstructionLoss
from sk_eeg2music.models.gan._ddsp import (
    HarmonicNoiseDecoder,
    additive_bank,
    exp_sigmoid,
    filtered_noise,
    harmonic_amplitudes,
    pitch_grid,
    sinusoid_table,
)
from sk_eeg2music.models.gan._staged import pretrain_decoder, unique_audio

SR, FRAME_RATE, HOP = 8000, 64, 125


def test_exp_sigmoid_is_positive_and_bounded():
    y = exp_sigmoid(torch.linspace(-50, 50, 101))
    assert (y > 0).all() and (y <= 2.0 + 1e-6).all()
    assert torch.all(y[1:] >= y[:-1])


def test_constant_amplitudes_give_the_table_sinusoids():
    freqs = torch.tensor([220.0, 1000.0])
    phases = torch.tensor([0.3, 1.1])
    table = sinusoid_table(freqs, phases, n_frames=5, hop_length=HOP, sample_rate=SR)
    amps = torch.tensor([0.5, 0.25])[None, :, None].expand(1, 2, 5)
    out = additive_bank(amps, table)[0].numpy()
    n = np.arange(5 * HOP)
    expected = sum(
        a * np.sin(2 * np.pi * f * n / SR + p) for a, f, p in [(0.5, 220, 0.3), (0.25, 1000, 1.1)]
    )
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_amplitudes_ramp_linearly_between_frames():
    table = sinusoid_table(torch.tensor([500.0]), torch.tensor([np.pi / 2]), 2, HOP, SR)
    env = additive_bank(torch.tensor([[[0.0, 1.0]]]), torch.ones_like(table))[0]
    np.testing.assert_allclose(env[:HOP].numpy(), np.arange(HOP) / HOP, atol=1e-6)
    np.testing.assert_allclose(env[HOP:].numpy(), 1.0)  # the last frame is held


def test_single_active_pitch_peaks_at_that_pitch():
    """A pure tone: only MIDI 69 of a plain grid is on, the spectrum peaks at 440 Hz."""
    freqs, valid = pitch_grid(57, 81, n_harmonics=1, sample_rate=SR)
    n_frames = 64
    table = sinusoid_table(
        torch.as_tensor(freqs, dtype=torch.float32), torch.zeros(len(freqs)), n_frames, HOP, SR
    )
    amps = torch.zeros(1, len(freqs), n_frames)
    amps[0, list(range(57, 82)).index(69)] = 0.5
    y = additive_bank(amps, table)[0].numpy()
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    peak = np.fft.rfftfreq(len(y), 1 / SR)[spectrum.argmax()]
    assert abs(peak - librosa.midi_to_hz(69)) < 2.0  # bin width 1 Hz
    # Nothing near the neighbouring semitones.
    near = np.abs(np.fft.rfftfreq(len(y), 1 / SR) - librosa.midi_to_hz(70)) < 5
    assert spectrum[near].max() < 0.01 * spectrum.max()


def test_harmonic_amplitudes_drop_harmonics_above_nyquist_and_renormalise():
    freqs, valid = pitch_grid(60, 96, n_harmonics=8, sample_rate=SR)
    assert (freqs < 0.45 * SR).all() and valid[0].all() and not valid[-1].all()
    pitch = torch.rand(2, valid.shape[0], 3)
    dist = torch.softmax(torch.randn(2, 8, 3), dim=1)
    amps = harmonic_amplitudes(pitch, dist, torch.as_tensor(valid))
    assert amps.shape == (2, valid.sum(), 3)
    # Each pitch's harmonics share exactly its amplitude.
    per_pitch = np.split(amps.numpy(), np.cumsum(valid.sum(1))[:-1], axis=1)
    totals = np.stack([p.sum(1) for p in per_pitch], axis=1)
    np.testing.assert_allclose(totals, pitch.numpy(), rtol=1e-5)


def test_filtered_noise_follows_the_filter():
    n_frames, n_fft = 64, 256
    mags = torch.zeros(1, 33, n_frames)
    mags[:, :8] = 1.0  # pass 0 .. ~875 Hz (band 7 at 7/32 x Nyquist), stop above ~1 kHz
    noise = 2 * torch.rand(1, n_frames * HOP, generator=torch.Generator().manual_seed(0)) - 1
    y = filtered_noise(mags, HOP, n_fft, noise)[0].numpy()
    assert y.shape == (n_frames * HOP,)
    power = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / SR)
    assert power[f > 1500].sum() < 0.01 * power.sum()
    assert power[f < 800].sum() > 0.5 * power.sum()


def test_filtered_noise_checks_the_noise_shape():
    with pytest.raises(ValueError, match="noise must have shape"):
        filtered_noise(torch.ones(1, 9, 4), HOP, 256, torch.zeros(1, 10))


@pytest.fixture
def decoder():
    return HarmonicNoiseDecoder(
        16,
        FRAME_RATE,
        SR,
        midi_min=48,
        midi_max=84,
        n_harmonics=4,
        channels=16,
        dilations=(1, 2),
        n_noise_bands=17,
    )


def test_output_shape_and_controls(decoder):
    z = torch.randn(3, 16, 10)
    assert decoder(z).shape == (3, 10 * HOP)
    amp, harm, noise = decoder.controls(z)
    assert amp.shape == (3, 37, 10) and harm.shape == (3, 4, 10) and noise.shape == (3, 17, 10)
    torch.testing.assert_close(harm.sum(1), torch.ones(3, 10))
    # A given excitation makes the output deterministic.
    excitation = torch.rand(3, 10 * HOP)
    torch.testing.assert_close(decoder(z, noise=excitation), decoder(z, noise=excitation))


def test_gradient_reaches_every_parameter(decoder):
    decoder(torch.randn(2, 16, 8)).pow(2).mean().backward()
    for name, p in decoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(audio_sfreq=8001), "positive integer"),
        (dict(midi_min=80, midi_max=70), "midi_max"),
        (dict(midi_min=120, midi_max=127), "below Nyquist"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HarmonicNoiseDecoder(**{"n_mels": 8, "frame_rate": FRAME_RATE, "audio_sfreq": SR, **kwargs})


def test_bad_input_shape_raises(decoder):
    with pytest.raises(ValueError, match="z must have shape"):
        decoder(torch.randn(2, 15, 8))


def test_decoder_only_training_converges(simulated):
    """Teacher-forced on true log-mels of a tiny set, the loss falls clearly within 40 steps."""
    y = torch.as_tensor(unique_audio(simulated("mos").y)[:4])
    criterion = ReconstructionLoss(SR, HOP, n_mels=32, aux_mels=32)
    module = HarmonicNoiseDecoder(32, FRAME_RATE, SR, channels=32, n_harmonics=4)
    weights = {"mel": 45.0, "stft_sc": 2.5, "stft_mag": 2.5}
    losses = pretrain_decoder(
        module,
        criterion,
        y,
        steps=40,
        batch_size=4,
        n_crop=32,
        factor=HOP,
        weights=weights,
        lr=3e-3,
        seed=0,
    )
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
