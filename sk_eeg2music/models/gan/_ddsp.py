"""A DDSP-style decoder: z-scored log-mel -> additive sinusoid bank + filtered noise.

Engel et al. (2020), "DDSP: Differentiable Digital Signal Processing", render
audio with signal-processing modules whose *controls* a network predicts: a
harmonic oscillator bank and noise shaped by a time-varying filter. Their
harmonic synthesiser follows one fundamental (monophonic); here the
oscillators sit on a fixed pitch grid (MIDI numbers, :func:`librosa.midi_to_hz`),
each optionally with harmonics, so chords and overlapping notes render as well:
the network only predicts how loud each grid pitch is in every frame. With
fixed frequencies the oscillator phases are known in advance, so the bank is a
batched matrix product with a constant sinusoid table
(:func:`sinusoid_table`, :func:`additive_bank`) and costs little on a CPU.

:class:`HarmonicNoiseDecoder` is measured against the package's HiFi-GAN-style
upsampler by ``benchmarks/decoder_ddsp.py``; it is the generator's decode stage
with ``EEG2MusicGAN(decoder="ddsp")`` (:class:`~.generator.Generator`'s
``decoder``).
"""

import math

import librosa
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def exp_sigmoid(x, exponent=10.0, max_value=2.0, threshold=1e-7):
    """DDSP's positive squashing: ``max_value * sigmoid(x) ** log(exponent) + threshold``.

    Parameters
    ----------
    x : Tensor, any shape
    exponent, max_value, threshold : float
        As in DDSP's ``core.exp_sigmoid``: the output spans
        ``(threshold, max_value + threshold)`` with a log-like slope.

    Returns
    -------
    y : Tensor, same shape as ``x``
    """
    return max_value * torch.sigmoid(x) ** math.log(exponent) + threshold


def sinusoid_table(frequencies, phases, n_frames, hop_length, sample_rate):
    """Fixed-frequency sinusoids cut into frames: ``sin(2 pi f n / sr + phase)``.

    Parameters
    ----------
    frequencies : Tensor, shape (n_partials,)
        Oscillator frequencies (Hz), below Nyquist.
    phases : Tensor, shape (n_partials,)
        Initial phases (rad).
    n_frames : int
    hop_length : int
        Audio samples per frame.
    sample_rate : float

    Returns
    -------
    table : Tensor, shape (n_frames, n_partials, hop_length)
        ``table[t, k, m]`` is oscillator ``k`` at sample ``t * hop_length + m``.
    """
    n = torch.arange(n_frames * hop_length, dtype=torch.float64, device=frequencies.device)
    # float64 phase: n * f reaches ~1e8 rad over a minute; float32 would drift.
    omega = 2.0 * math.pi * frequencies.double() / float(sample_rate)
    phase = torch.remainder(omega[:, None] * n[None], 2.0 * math.pi) + phases.double()[:, None]
    table = torch.sin(phase).to(frequencies.dtype)
    return table.reshape(len(frequencies), n_frames, hop_length).permute(1, 0, 2).contiguous()


def additive_bank(amplitudes, table):
    """Sum of fixed-frequency oscillators whose amplitudes are interpolated linearly between frames.

    Frame ``t`` sets the amplitude at sample ``t * hop_length`` (the centre of
    a centred STFT frame); amplitudes ramp linearly to frame ``t + 1``, and the
    last frame is held.

    Parameters
    ----------
    amplitudes : Tensor, shape (batch, n_partials, n_frames)
        Non-negative amplitude of each oscillator in each frame.
    table : Tensor, shape (n_frames, n_partials, hop_length)
        :func:`sinusoid_table`.

    Returns
    -------
    audio : Tensor, shape (batch, n_frames * hop_length)
    """
    n_frames, n_partials, hop = table.shape
    if amplitudes.shape[1:] != (n_partials, n_frames):
        raise ValueError(
            f"amplitudes must have shape (batch, {n_partials}, {n_frames}); "
            f"got {tuple(amplitudes.shape)}."
        )
    a0 = amplitudes.permute(2, 0, 1)  # (n_frames, batch, n_partials)
    a1 = torch.cat([a0[1:], a0[-1:]], dim=0)
    ramp = torch.arange(hop, dtype=table.dtype, device=table.device) / hop
    # Batched over frames: (T, B, K) @ (T, K, hop) -> (T, B, hop); the big
    # (B, K, n_audio) amplitude tensor is never built.
    out = torch.bmm(a0, table) * (1.0 - ramp) + torch.bmm(a1, table) * ramp
    return out.permute(1, 0, 2).reshape(amplitudes.shape[0], n_frames * hop)


def harmonic_amplitudes(pitch_amplitudes, harmonic_distribution, valid):
    """Amplitude of every (pitch, harmonic) oscillator: pitch loudness x harmonic share.

    Parameters
    ----------
    pitch_amplitudes : Tensor, shape (batch, n_pitches, n_frames)
    harmonic_distribution : Tensor, shape (batch, n_harmonics, n_frames)
        Non-negative; normalised over the harmonics a pitch keeps below Nyquist.
    valid : Tensor of bool, shape (n_pitches, n_harmonics)
        Whether harmonic ``h + 1`` of pitch ``p`` lies below Nyquist.

    Returns
    -------
    amplitudes : Tensor, shape (batch, n_valid, n_frames)
        The valid oscillators in row-major (pitch, harmonic) order.
    """
    mask = valid.to(harmonic_distribution.dtype)
    dist = harmonic_distribution[:, None] * mask[None, :, :, None]  # (B, P, H, T)
    dist = dist / dist.sum(dim=2, keepdim=True).clamp_min(1e-7)
    amps = pitch_amplitudes[:, :, None] * dist
    return amps.flatten(1, 2)[:, valid.flatten()]


def filtered_noise(magnitudes, hop_length, n_fft, noise):
    """White noise shaped frame by frame by a frequency-sampled filter (DDSP's FilteredNoise).

    The filter of each frame is given at ``n_bands`` frequencies spaced evenly
    from 0 Hz to Nyquist and interpolated linearly to the STFT bins; the noise
    is filtered in the short-time Fourier domain (Hann window, centred frames
    at ``t * hop_length``) and resynthesised by overlap-add.

    Parameters
    ----------
    magnitudes : Tensor, shape (batch, n_bands, n_frames)
        Non-negative filter magnitude per band and frame.
    hop_length : int
    n_fft : int
        At least ``hop_length``.
    noise : Tensor, shape (batch, n_frames * hop_length)
        The excitation, e.g. uniform in [-1, 1].

    Returns
    -------
    audio : Tensor, shape (batch, n_frames * hop_length)
    """
    batch, n_bands, n_frames = magnitudes.shape
    n_audio = n_frames * hop_length
    if noise.shape != (batch, n_audio):
        raise ValueError(f"noise must have shape ({batch}, {n_audio}); got {tuple(noise.shape)}.")
    window = torch.hann_window(n_fft, dtype=noise.dtype, device=noise.device)
    spec = torch.stft(noise, n_fft, hop_length, window=window, center=True, return_complex=True)
    # Centred STFT: n_frames + 1 frames, the last one at the end of the audio (held).
    gain = torch.cat([magnitudes, magnitudes[..., -1:]], dim=-1)
    n_bins = spec.shape[1]
    gain = F.interpolate(gain.transpose(1, 2), size=n_bins, mode="linear", align_corners=True)
    spec = spec * gain.transpose(1, 2)
    return torch.istft(spec, n_fft, hop_length, window=window, center=True, length=n_audio)


def pitch_grid(midi_min, midi_max, n_harmonics, sample_rate):
    """Frequencies of a fixed pitch grid's harmonics and which lie below Nyquist.

    Parameters
    ----------
    midi_min, midi_max : int
        Lowest and highest MIDI pitch (inclusive), one per semitone.
    n_harmonics : int
        Harmonics per pitch (1: plain sinusoids on the grid).
    sample_rate : float

    Returns
    -------
    frequencies : ndarray, shape (n_valid,)
        Oscillator frequencies (Hz) in row-major (pitch, harmonic) order.
    valid : ndarray of bool, shape (n_pitches, n_harmonics)
        Harmonics kept: below 0.45 x the sample rate (a margin under Nyquist).
    """
    f0 = librosa.midi_to_hz(np.arange(int(midi_min), int(midi_max) + 1))
    freqs = f0[:, None] * np.arange(1, int(n_harmonics) + 1)[None]
    valid = freqs < 0.45 * float(sample_rate)
    if not valid.any():
        raise ValueError(f"no pitch of MIDI {midi_min}..{midi_max} lies below Nyquist.")
    return freqs[valid], valid


class _ResBlock(nn.Module):
    def __init__(self, channels, dilation):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        return x + self.mix(F.leaky_relu(self.conv(F.leaky_relu(x, 0.1)), 0.1))


class HarmonicNoiseDecoder(nn.Module):
    """z-scored log-mel at the EEG frame rate -> waveform, by a sinusoid bank plus filtered noise.

    A small 1-D convolutional network reads the log-mel and predicts, per
    frame, the amplitude of every pitch of a fixed grid, a harmonic
    distribution shared by the pitches (DDSP's harmonic synthesiser, one per
    grid pitch instead of one f0) and the magnitudes of a noise filter. The
    audio is :func:`additive_bank` plus :func:`filtered_noise`.

    Parameters
    ----------
    n_mels : int
        Mel bands of the input.
    frame_rate : float
        Frames per second of the input (the EEG rate).
    audio_sfreq : float
        Output rate; ``audio_sfreq / frame_rate`` must be an integer.
    midi_min, midi_max : int, default=24, 96
        Pitch grid (inclusive), one pitch per semitone. MIDI 24 (32.7 Hz) is
        about the lowest pitch the package's log-mel (``fmin=30`` Hz) sees.
    n_harmonics : int, default=8
        Harmonics per grid pitch; 1 gives plain partials on the grid.
    channels : int, default=128
        Width of the control network.
    dilations : tuple of int, default=(1, 2, 4)
        One residual block per entry.
    n_noise_bands : int, default=65
        Frequencies at which the noise filter is predicted.
    n_fft_noise : int | None, default=None
        STFT size of the noise filter; ``None``: the power of two >= 2 hops.
    seed : int, default=0
        Seeds the oscillators' initial phases.

    Examples
    --------
    >>> import torch
    >>> from sk_eeg2music.models.gan._ddsp import HarmonicNoiseDecoder
    >>> decoder = HarmonicNoiseDecoder(n_mels=32, frame_rate=64, audio_sfreq=8000)
    >>> decoder(torch.randn(2, 32, 16)).shape  # 16 frames x 125 samples
    torch.Size([2, 2000])
    """

    def __init__(
        self,
        n_mels,
        frame_rate,
        audio_sfreq,
        midi_min=24,
        midi_max=96,
        n_harmonics=8,
        channels=128,
        dilations=(1, 2, 4),
        n_noise_bands=65,
        n_fft_noise=None,
        seed=0,
    ):
        super().__init__()
        factor = float(audio_sfreq) / float(frame_rate)
        if factor < 1 or abs(factor - round(factor)) > 1e-6:
            raise ValueError(
                f"audio_sfreq / frame_rate must be a positive integer; got {audio_sfreq} / "
                f"{frame_rate}."
            )
        if int(midi_max) < int(midi_min) or int(n_harmonics) < 1:
            raise ValueError("need midi_max >= midi_min and n_harmonics >= 1.")
        self.n_mels, self.frame_rate, self.audio_sfreq = int(n_mels), frame_rate, audio_sfreq
        self.factor = int(round(factor))
        self.n_pitches = int(midi_max) - int(midi_min) + 1
        self.n_harmonics = int(n_harmonics)
        self.n_noise_bands = int(n_noise_bands)
        self.n_fft_noise = (
            int(n_fft_noise) if n_fft_noise else 1 << max(1, 2 * self.factor - 1).bit_length()
        )
        freqs, valid = pitch_grid(midi_min, midi_max, n_harmonics, audio_sfreq)
        phases = torch.rand(len(freqs), generator=torch.Generator().manual_seed(int(seed)))
        self.register_buffer("frequencies", torch.as_tensor(freqs, dtype=torch.float32))
        self.register_buffer("phases", 2.0 * math.pi * phases)
        self.register_buffer("valid", torch.as_tensor(valid))
        self.conv_pre = nn.Conv1d(self.n_mels, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[_ResBlock(channels, int(d)) for d in dilations])
        n_out = self.n_pitches + self.n_harmonics + self.n_noise_bands
        self.head = nn.Conv1d(channels, n_out, 1)
        with torch.no_grad():
            # Start quiet (as DDSP's -5 bias): the log losses lift the level.
            self.head.bias.fill_(-3.0)
            self.head.bias[self.n_pitches : self.n_pitches + self.n_harmonics] = 0.0
        self._table_key, self._table = None, None

    def controls(self, z):
        """Synthesiser controls predicted from the log-mel.

        Parameters
        ----------
        z : Tensor, shape (batch, n_mels, n_frames)

        Returns
        -------
        pitch_amplitudes : Tensor, shape (batch, n_pitches, n_frames)
        harmonic_distribution : Tensor, shape (batch, n_harmonics, n_frames)
        noise_magnitudes : Tensor, shape (batch, n_noise_bands, n_frames)
        """
        if z.ndim != 3 or z.shape[1] != self.n_mels:
            raise ValueError(
                f"z must have shape (batch, {self.n_mels}, n_frames); got {tuple(z.shape)}."
            )
        h = self.head(F.leaky_relu(self.blocks(self.conv_pre(z)), 0.1))
        amp, harm, noise = h.split([self.n_pitches, self.n_harmonics, self.n_noise_bands], dim=1)
        return exp_sigmoid(amp), torch.softmax(harm, dim=1), exp_sigmoid(noise)

    def _sinusoids(self, n_frames):
        key = (n_frames, self.frequencies.device, self.frequencies.dtype)
        if self._table_key != key:  # constant: cache the last length used
            self._table = sinusoid_table(
                self.frequencies, self.phases, n_frames, self.factor, self.audio_sfreq
            )
            self._table_key = key
        return self._table

    def __getstate__(self):
        # The sinusoid table is a cache (n_audio x n_partials floats): not state.
        state = self.__dict__.copy()
        state["_table_key"], state["_table"] = None, None
        return state

    def forward(self, z, noise=None, generator=None):
        """Render waveforms.

        Parameters
        ----------
        z : Tensor, shape (batch, n_mels, n_frames)
            z-scored log-mel at ``frame_rate``.
        noise : Tensor, shape (batch, n_frames * factor) | None
            Excitation of the noise branch; ``None`` draws uniform noise in
            [-1, 1] from ``generator``.
        generator : torch.Generator | None, default=None
            Source of the drawn noise (drawn on the generator's device, then
            moved to ``z``'s); ``None``: torch's global generator.

        Returns
        -------
        audio : Tensor, shape (batch, n_frames * factor)
        """
        amp, harm, mags = self.controls(z)
        n_frames = z.shape[-1]
        harmonic = additive_bank(
            harmonic_amplitudes(amp, harm, self.valid), self._sinusoids(n_frames)
        )
        if noise is None:
            shape = (z.shape[0], n_frames * self.factor)
            device = z.device if generator is None else generator.device
            noise = (2.0 * torch.rand(shape, generator=generator, device=device) - 1.0).to(z)
        return harmonic + filtered_noise(mags, self.factor, self.n_fft_noise, noise)

    # The interface of Generator that sk_eeg2music.models.gan._staged.pretrain_decoder uses.
    def decode(self, z, generator=None):
        """Alias of :meth:`forward` (``Generator.decode``'s interface)."""
        return self(z, generator=generator)

    def decoder_parameters(self):
        """All trainable parameters (``Generator.decoder_parameters``'s interface)."""
        return self.parameters()
