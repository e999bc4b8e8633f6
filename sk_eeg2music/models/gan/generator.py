"""The EEG-to-waveform generator: an EEG encoder followed by a HiFi-GAN-style upsampler.

The encoder works at the EEG rate (a 1x1 spatial convolution, then residual
dilated temporal convolutions whose receptive field covers the neural response
lag); the upsampler turns its features into audio with transposed convolutions
and residual dilated blocks, ``factor`` audio samples per EEG sample. With
``decoder="ddsp"`` a DDSP-style harmonic-plus-noise synthesiser
(:class:`~._ddsp.HarmonicNoiseDecoder`) takes the upsampler's place. With
``linear_window`` the decoded log-mel adds a closed-form lagged linear map
(:mod:`._linear_path`) to the encoder's output.
"""

import math

import numpy as np
import torch
from torch import nn

from .._lagged_ridge import lag_samples
from ._ddsp import HarmonicNoiseDecoder
from ._layers import WNConv1d, WNConvTranspose1d, leaky_relu, same_padding
from ._linear_path import LaggedLinear, head_codes, n_linear_heads
from .losses import zscore_over_time

#: Rates above this are realised by interpolation + convolution, not a transposed
#: convolution (whose kernel, 2 x rate, would grow without bound).
DEFAULT_MAX_RATE = 8

#: The decode stages :class:`Generator` can build (its ``decoder`` parameter).
DECODERS = ("upsampler", "ddsp")


def prime_factors(n):
    """Prime factorisation of a positive integer, in ascending order.

    Parameters
    ----------
    n : int
        A positive integer.

    Returns
    -------
    factors : list of int
        Primes whose product is ``n`` (empty for ``n == 1``).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}.")
    factors, p = [], 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


def plan_upsampling(factor, max_rate=DEFAULT_MAX_RATE):
    """Split an upsampling factor into per-stage integer rates.

    Prime factors up to ``max_rate`` are packed into as few stages as possible,
    each at most ``max_rate`` (first-fit decreasing), largest stage first as in
    HiFi-GAN (``250 -> [5, 5, 5, 2]``, ``128 -> [8, 8, 2]``,
    ``256 -> [8, 8, 4]``). A prime larger than ``max_rate`` (e.g. 251) gets a
    stage of its own, placed first where the signal is shortest; the generator
    realises such a stage by linear interpolation followed by a convolution.

    Parameters
    ----------
    factor : int
        Audio samples per EEG sample (>= 1).
    max_rate : int, default=8
        Largest rate of one transposed-convolution stage.

    Returns
    -------
    rates : list of int
        Stage rates whose product is ``factor`` (empty for ``factor == 1``).
    """
    primes = prime_factors(factor)
    large = sorted(p for p in primes if p > max_rate)
    stages = []
    for p in sorted((p for p in primes if p <= max_rate), reverse=True):
        for i, rate in enumerate(stages):
            if rate * p <= max_rate:
                stages[i] = rate * p
                break
        else:
            stages.append(p)
    return large + sorted(stages, reverse=True)


def default_encoder_dilations(sfreq, receptive_field_seconds=0.5, kernel_size=3):
    """Doubling dilations whose stacked receptive field spans a duration.

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz).
    receptive_field_seconds : float, default=0.5
        Minimum total receptive field (s); 0.5 s covers the P1-N1-P2 auditory
        response and the 400-500 ms windows of backward models.
    kernel_size : int, default=3
        Kernel size of each dilated convolution.

    Returns
    -------
    dilations : tuple of int
        ``(1, 2, 4, ...)``; one convolution per entry.
    """
    needed = max(1, int(math.ceil(receptive_field_seconds * sfreq)))
    dilations, field = [], 1
    while field < needed or not dilations:
        d = 2 ** len(dilations)
        dilations.append(d)
        field += (kernel_size - 1) * d
    return tuple(dilations)


def receptive_field(dilations, kernel_size=3):
    """Receptive field (in EEG samples) of stacked dilated convolutions."""
    return 1 + (kernel_size - 1) * int(sum(dilations))


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``scale`` backward."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def scale_gradient(x, scale):
    """``x`` unchanged, its gradient multiplied by ``scale`` (0 detaches, 1 is a no-op)."""
    if scale == 1.0 or not x.requires_grad:
        return x
    if scale == 0.0:
        return x.detach()
    return _ScaleGradient.apply(x, float(scale))


class ChannelStandardizer(nn.Module):
    """Fixed per-channel affine map ``(x - mean) / scale`` held as buffers.

    The estimator fills the buffers with statistics of the training EEG only,
    so EEG in volts (~1e-6) reaches the first convolution at unit scale and the
    saved parameters carry the normalisation.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels.
    """

    def __init__(self, n_channels):
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, n_channels, 1))
        self.register_buffer("scale", torch.ones(1, n_channels, 1))

    def set_statistics(self, mean, scale):
        """Set the buffers from arrays of shape (n_channels,)."""
        mean = torch.as_tensor(np.asarray(mean, dtype=np.float32)).reshape(self.mean.shape)
        scale = torch.as_tensor(np.asarray(scale, dtype=np.float32)).reshape(self.scale.shape)
        self.mean.copy_(mean)
        self.scale.copy_(scale.clamp_min(torch.finfo(torch.float32).tiny))

    def forward(self, x):
        return (x - self.mean) / self.scale


class EncoderBlock(nn.Module):
    """Residual dilated temporal convolution at the EEG rate.

    ``x + W2 * dropout(GELU(W1 *_d GELU(x)))`` with ``W1`` a dilated convolution
    and ``W2`` a 1x1 convolution; the length is unchanged.
    """

    def __init__(self, channels, kernel_size, dilation, dropout):
        super().__init__()
        self.conv = WNConv1d(
            channels,
            channels,
            kernel_size,
            dilation=dilation,
            padding=same_padding(kernel_size, dilation),
        )
        self.proj = WNConv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.GELU()

    def forward(self, x):
        return x + self.proj(self.dropout(self.act(self.conv(self.act(x)))))


class ResBlock(nn.Module):
    """HiFi-GAN residual block.

    Type 1 (HiFi-GAN V1/V2): for each dilation ``d``,
    ``x = x + conv_1(lrelu(conv_d(lrelu(x))))``. Type 2 (V3, half the cost):
    ``x = x + conv_d(lrelu(x))``.
    """

    def __init__(self, channels, kernel_size, dilations, slope, init_std, resblock_type=1):
        super().__init__()
        if resblock_type not in (1, 2):
            raise ValueError(f"resblock_type must be 1 or 2; got {resblock_type!r}.")
        self.slope = slope
        self.convs1 = nn.ModuleList(
            WNConv1d(
                channels,
                channels,
                kernel_size,
                dilation=d,
                padding=same_padding(kernel_size, d),
                init_std=init_std,
            )
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            WNConv1d(
                channels,
                channels,
                kernel_size,
                padding=same_padding(kernel_size),
                init_std=init_std,
            )
            for _ in (dilations if resblock_type == 1 else ())
        )

    def forward(self, x):
        if not len(self.convs2):
            for c1 in self.convs1:
                x = x + c1(leaky_relu(x, self.slope))
            return x
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(leaky_relu(c1(leaky_relu(x, self.slope)), self.slope))
        return x


class UpsampleStage(nn.Module):
    """One upsampling stage: LeakyReLU -> x``rate`` -> multi-receptive-field fusion.

    Rates up to ``max_rate`` use a weight-normalised transposed convolution with
    kernel ``2 * rate`` and MelGAN's padding (``rate // 2 + rate % 2``,
    ``output_padding = rate % 2``), which gives exactly ``rate`` samples per
    input sample for odd rates too. Larger rates (primes above ``max_rate``)
    fall back to linear interpolation followed by a convolution.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        rate,
        *,
        max_rate,
        resblock_kernel_sizes,
        resblock_dilations,
        resblock_type,
        slope,
        init_std,
    ):
        super().__init__()
        self.slope = slope
        self.rate = int(rate)
        if self.rate <= max_rate:
            self.up = WNConvTranspose1d(
                in_channels,
                out_channels,
                2 * self.rate,
                stride=self.rate,
                padding=self.rate // 2 + self.rate % 2,
                output_padding=self.rate % 2,
                init_std=init_std,
            )
        else:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=self.rate, mode="linear", align_corners=False),
                WNConv1d(in_channels, out_channels, 7, padding=3, init_std=init_std),
            )
        self.resblocks = nn.ModuleList(
            ResBlock(out_channels, k, d, slope, init_std, resblock_type)
            for k, d in zip(resblock_kernel_sizes, resblock_dilations)
        )

    def forward(self, x):
        x = self.up(leaky_relu(x, self.slope))
        if len(self.resblocks) <= 1:
            return self.resblocks[0](x) if len(self.resblocks) else x
        out = self.resblocks[0](x)
        for block in self.resblocks[1:]:
            out = out + block(x)
        return out / len(self.resblocks)


class Generator(nn.Module):
    """EEG encoder + HiFi-GAN-style upsampler: EEG trials to waveforms.

    Maps EEG of shape ``(batch, n_channels, n_times)`` to waveforms of shape
    ``(batch, n_times * factor)`` (in [-1, 1] with the upsampler). Fully
    convolutional: any ``n_times`` works, so it trains on crops and predicts
    whole trials.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels (inferred by :class:`EEG2MusicGAN` in ``fit``).
    factor : int
        Audio samples per EEG sample (inferred in ``fit`` as
        ``n_audio // n_times``), any integer >= 1.
    sfreq : float, default=64.0
        EEG rate (Hz); sets the default encoder dilations.
    encoder_channels : int, default=64
        Width of the encoder.
    encoder_kernel_size : int, default=3
        Kernel size of the dilated encoder convolutions (odd).
    encoder_dilations : tuple of int | None, default=None
        One residual block per entry; ``None`` doubles dilations (1, 2, 4, ...)
        until the receptive field reaches ``receptive_field_seconds``.
    receptive_field_seconds : float, default=0.5
        Minimum encoder receptive field when ``encoder_dilations=None``.
    encoder_dropout : float, default=0.1
        Dropout inside the encoder blocks.
    channel_dropout : float, default=0.1
        Probability of zeroing a whole EEG channel during training.
    aux_mels : int, default=64
        Size of the auxiliary head (a 1x1 convolution of the encoder features
        that predicts the log-mel spectrogram at the EEG frame rate); 0 disables
        it.
    decoder_input : {"mel", "features"}, default="mel"
        What the upsampler decodes: ``"mel"``, the auxiliary head's log-mel
        prediction (an EEG -> mel -> waveform bottleneck, so the upsampler can
        also be trained on true spectrograms, see ``teacher_forcing`` in
        :class:`~sk_eeg2music.EEG2MusicGAN`); ``"features"``, the encoder
        features.
    decoder_grad_scale : float | None, default=None
        Factor on the gradient the upsampler's losses (mel, STFT, adversarial)
        send back into the encoder. With 0 the encoder learns only from the
        auxiliary head and the upsampler is a vocoder of the encoder's
        features; at EEG signal-to-noise ratios the upsampler's much larger,
        noisier gradient otherwise drowns the auxiliary signal and the encoder
        learns nothing about the EEG in a short training run. 1 is fully
        end-to-end. ``None``: 0 with the auxiliary head, 1 without it.
    decoder_input_norm : {None, "zscore"}, default=None
        ``"zscore"`` standardises the decoded log-mel over time, per trial and
        band, before the upsampler (as :func:`~.losses.zscore_over_time` does
        to the true log-mel the upsampler is pre-trained on), so a weak,
        nearly flat decoded spectrogram reaches the upsampler at the scale of
        its training input instead of being rendered as flat noise.
        :class:`~sk_eeg2music.EEG2MusicGAN` sets it for ``training="staged"``.
    decoder : {"upsampler", "ddsp"}, default="upsampler"
        The decode stage (input at the EEG rate -> waveform). ``"upsampler"``:
        the HiFi-GAN-style transposed-convolution upsampler (``conv_pre``,
        ``stages``, ``conv_post``; the ``upsample_*``, ``resblock_*``,
        ``leaky_relu_slope`` and ``init_std`` parameters). ``"ddsp"``:
        :class:`~._ddsp.HarmonicNoiseDecoder` (attribute ``ddsp``), a small
        network predicting the loudness of every pitch of a fixed semitone
        grid, a shared harmonic distribution and a noise filter, rendered by
        an additive sinusoid bank plus filtered noise; its output is not
        squashed by ``tanh``. Its noise is drawn from torch's global generator
        in training mode (seeded by :class:`~sk_eeg2music.EEG2MusicGAN`'s
        ``random_state``), from the ``generator`` given to :meth:`decode`, or,
        in evaluation mode, from a private generator seeded by the buffer
        ``noise_seed`` (one excitation for every trial), so prediction is
        deterministic and independent of batching.
    ddsp_params : dict | None, default=None
        Keyword arguments of :class:`~._ddsp.HarmonicNoiseDecoder` beyond the
        inferred ``n_mels``, ``frame_rate`` and ``audio_sfreq`` (e.g.
        ``midi_min``, ``midi_max``, ``n_harmonics``, ``channels``); only with
        ``decoder="ddsp"``.
    linear_window : tuple of float | None, default=None
        ``(tmin, tmax)`` in seconds: add the linear path
        (:class:`~._linear_path.LaggedLinear`), a lagged linear map from the
        standardised EEG (from ``tmin`` to ``tmax`` after each music frame) to
        the log-mel, one per condition. The decoded log-mel
        is then the linear map's output plus the auxiliary head's times
        ``residual_gain`` (a parameter initialised to 0).
        :class:`~sk_eeg2music.EEG2MusicGAN` fits the map in closed form
        (reduced-rank lagged ridge) before encoder training. ``None``: no
        linear path. Needs ``decoder_input="mel"``.
    n_conditions : int, default=0
        Number of experimental conditions (e.g. 2: listening and imagery).
        With ``n_conditions >= 1``, a learned per-condition feature-wise
        affine map (FiLM: scale and shift of every encoder channel, after the
        spatial convolution and after the dilated blocks, initialised to the
        identity) lets the conditions use different mappings, e.g. the
        weaker, delayed, polarity-inverted responses of imagery. Without a
        condition (``None`` in :meth:`forward`) the shared mapping is used.
    upsample_channels : int, default=128
        Channels entering the upsampler; halved at every stage.
    min_channels : int, default=8
        Floor on the channels of any upsampling stage.
    upsample_rates : tuple of int | None, default=None
        Per-stage rates with product ``factor``; ``None`` uses
        :func:`plan_upsampling`.
    max_rate : int, default=8
        Largest transposed-convolution rate in the automatic plan.
    resblock_kernel_sizes : tuple of int, default=(3,)
        Kernel size of each parallel residual block in a stage (HiFi-GAN's MRF).
    resblock_dilations : tuple of tuple of int, default=((1, 3, 9),)
        Dilations of each parallel residual block (same length as
        ``resblock_kernel_sizes``).
    resblock_type : {1, 2}, default=1
        HiFi-GAN's residual block type: 1 pairs every dilated convolution with
        an undilated one, 2 (V3) uses the dilated convolutions alone.
    leaky_relu_slope : float, default=0.1
        Negative slope of the upsampler's LeakyReLUs.
    init_std : float | None, default=None
        Standard deviation of the upsampler's initial weights; ``None`` keeps
        PyTorch's default initialisation. HiFi-GAN's 0.01 suits its 512-channel
        upsampler but makes a narrow one start almost silent (output std ~1e-4),
        so the ``"gpu"`` preset uses 0.01 and the others ``None``.

    Attributes
    ----------
    rates : list of int
        The per-stage upsampling rates actually used.
    """

    def __init__(
        self,
        n_channels,
        factor,
        sfreq=64.0,
        encoder_channels=64,
        encoder_kernel_size=3,
        encoder_dilations=None,
        receptive_field_seconds=0.5,
        encoder_dropout=0.1,
        channel_dropout=0.1,
        aux_mels=64,
        decoder_input="mel",
        decoder_grad_scale=None,
        decoder_input_norm=None,
        decoder="upsampler",
        ddsp_params=None,
        linear_window=None,
        n_conditions=0,
        upsample_channels=128,
        min_channels=8,
        upsample_rates=None,
        max_rate=DEFAULT_MAX_RATE,
        resblock_kernel_sizes=(3,),
        resblock_dilations=((1, 3, 9),),
        resblock_type=1,
        leaky_relu_slope=0.1,
        init_std=None,
    ):
        super().__init__()
        self.n_channels, self.factor = int(n_channels), int(factor)
        rates = plan_upsampling(factor, max_rate) if upsample_rates is None else upsample_rates
        self.rates = [int(r) for r in rates]
        if int(np.prod(self.rates)) != self.factor:
            raise ValueError(
                f"upsample_rates {tuple(self.rates)} multiply to {int(np.prod(self.rates))}, "
                f"not factor={self.factor}; leave upsample_rates=None to plan them."
            )
        if len(resblock_kernel_sizes) != len(resblock_dilations):
            raise ValueError(
                "resblock_kernel_sizes and resblock_dilations need one entry per parallel "
                f"block; got {len(resblock_kernel_sizes)} and {len(resblock_dilations)}."
            )
        if encoder_dilations is None:
            encoder_dilations = default_encoder_dilations(
                sfreq, receptive_field_seconds, encoder_kernel_size
            )
        self.encoder_dilations = tuple(int(d) for d in encoder_dilations)
        self.aux_mels = int(aux_mels)
        if decoder_input not in ("mel", "features"):
            raise ValueError(f"decoder_input must be 'mel' or 'features'; got {decoder_input!r}.")
        if decoder_input == "mel" and self.aux_mels < 1:
            raise ValueError("decoder_input='mel' needs the auxiliary head: set aux_mels >= 1.")
        self.decoder_input = decoder_input
        if decoder_grad_scale is None:
            decoder_grad_scale = 0.0 if self.aux_mels > 0 else 1.0
        self.decoder_grad_scale = float(decoder_grad_scale)
        if decoder_input_norm not in (None, "zscore"):
            raise ValueError(
                f"decoder_input_norm must be None or 'zscore'; got {decoder_input_norm!r}."
            )
        self.decoder_input_norm = decoder_input_norm
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}; got {decoder!r}.")
        if ddsp_params and decoder != "ddsp":
            raise ValueError("ddsp_params applies only to decoder='ddsp'.")
        self.decoder = decoder
        self.ddsp_params = dict(ddsp_params or {})
        self.n_conditions = int(n_conditions)
        self.slope = leaky_relu_slope

        self.standardize = ChannelStandardizer(self.n_channels)
        self.channel_dropout = nn.Dropout1d(channel_dropout)
        self.spatial = WNConv1d(self.n_channels, encoder_channels, 1)
        self.encoder = nn.Sequential(
            *(
                EncoderBlock(encoder_channels, encoder_kernel_size, d, encoder_dropout)
                for d in self.encoder_dilations
            )
        )
        # Two (scale, shift) pairs per condition, zero-initialised: the identity map.
        self.condition_film = None
        if self.n_conditions > 0:
            self.condition_film = nn.Embedding(self.n_conditions, 4 * encoder_channels)
            nn.init.zeros_(self.condition_film.weight)
        self.aux_head = WNConv1d(encoder_channels, self.aux_mels, 1) if self.aux_mels > 0 else None
        self.linear = self.residual_gain = None
        if linear_window is not None:
            if decoder_input != "mel":
                raise ValueError("linear_window needs decoder_input='mel'.")
            lags = lag_samples(*linear_window, sfreq)
            self.linear = LaggedLinear(
                self.n_channels, self.aux_mels, lags, n_linear_heads(self.n_conditions)
            )
            self.residual_gain = nn.Parameter(torch.zeros(()))
        decoder_in = self.aux_mels if decoder_input == "mel" else encoder_channels
        self.ddsp = self.conv_pre = self.stages = self.conv_post = None
        if decoder == "ddsp":
            self.ddsp = HarmonicNoiseDecoder(
                decoder_in, sfreq, float(sfreq) * self.factor, **self.ddsp_params
            )
            # Drawn from the (seeded) global generator; a buffer, so it is saved.
            self.register_buffer("noise_seed", torch.randint(0, 2**31 - 1, (1,)))
        else:
            self.conv_pre = WNConv1d(decoder_in, upsample_channels, 7, padding=3)
            stages, channels = [], upsample_channels
            for rate in self.rates:
                out = max(min_channels, channels // 2)
                stages.append(
                    UpsampleStage(
                        channels,
                        out,
                        rate,
                        max_rate=max_rate,
                        resblock_kernel_sizes=resblock_kernel_sizes,
                        resblock_dilations=resblock_dilations,
                        resblock_type=resblock_type,
                        slope=leaky_relu_slope,
                        init_std=init_std,
                    )
                )
                channels = out
            self.stages = nn.ModuleList(stages)
            self.conv_post = WNConv1d(channels, 1, 7, padding=3, init_std=init_std)

    def encoder_parameters(self):
        """Parameters of the EEG-rate encoder: spatial convolution, dilated blocks,
        condition embedding and auxiliary head.

        :class:`~sk_eeg2music.EEG2MusicGAN` trains them with their own learning
        rate (``lr_encoder``).
        """
        for part in (self.spatial, self.encoder, self.condition_film, self.aux_head):
            if part is not None:
                yield from part.parameters()
        if self.residual_gain is not None:
            yield self.residual_gain

    def decoder_parameters(self):
        """Parameters of the decode stage: the upsampler (``conv_pre``, the stages,
        ``conv_post``) or the DDSP synthesiser (``ddsp``)."""
        for part in (self.conv_pre, self.stages, self.conv_post, self.ddsp):
            if part is not None:
                yield from part.parameters()

    def decoder_state_names(self):
        """Names (``state_dict`` keys) of the decode stage's parameters and buffers.

        What :class:`~sk_eeg2music.EEG2MusicGAN`'s decoder pre-training keeps,
        hashes and restores.
        """
        names = []
        for prefix in ("conv_pre", "stages", "conv_post", "ddsp"):
            part = getattr(self, prefix)
            if part is not None:
                names += [f"{prefix}.{k}" for k in part.state_dict()]
        return names

    def _film(self, h, condition, which):
        if self.condition_film is None or condition is None:
            return h
        condition = torch.as_tensor(condition, device=h.device).long().reshape(-1)
        if condition.numel() and (condition.min() < 0 or condition.max() >= self.n_conditions):
            raise ValueError(
                f"condition codes must lie in [0, {self.n_conditions - 1}]; got "
                f"{condition.min().item()}..{condition.max().item()}."
            )
        scale, shift = self.condition_film(condition).chunk(4, dim=1)[2 * which : 2 * which + 2]
        return h * (1.0 + scale[:, :, None]) + shift[:, :, None]

    def encode(self, x, condition=None):
        """EEG ``(batch, n_channels, n_times)`` -> ``(batch, encoder_channels, n_times)``.

        ``condition`` : int Tensor of shape (batch,) | None, codes in
        ``[0, n_conditions)``; ignored when ``n_conditions == 0``.
        """
        return self._encode_standardized(self.standardize(x), condition)

    def _encode_standardized(self, xs, condition):
        h = self._film(self.spatial(self.channel_dropout(xs)), condition, 0)
        return self._film(self.encoder(h), condition, 1)

    def predict_mel(self, features):
        """Auxiliary head on the features, ``(batch, aux_mels, n_times)``; None if disabled.

        Without the linear path this is the decoded log-mel; with it, see
        :meth:`encode_mel`.
        """
        return None if self.aux_head is None else self.aux_head(features)

    def encode_mel(self, x, condition=None):
        """EEG ``(batch, n_channels, n_times)`` -> encoder features and decoded log-mel.

        Returns
        -------
        features : Tensor, shape (batch, encoder_channels, n_times)
        mel : Tensor, shape (batch, aux_mels, n_times) | None
            The auxiliary head's output, plus the linear path's (see
            ``linear_window``) when there is one.
        """
        xs = self.standardize(x)  # shared by both paths
        features = self._encode_standardized(xs, condition)
        mel = self.predict_mel(features)
        if self.linear is not None:
            head = head_codes(condition, self.linear.n_heads, len(x), x.device)
            mel = self.linear(xs, head) + self.residual_gain * mel
        return features, mel

    def decoder_input_from(self, features, mel):
        """The upsampler's input: the predicted mel or the features (see ``decoder_input``).

        The gradient that flows back through it is scaled by
        ``decoder_grad_scale``.
        """
        z = mel if self.decoder_input == "mel" else features
        if self.decoder_input == "mel" and self.decoder_input_norm == "zscore":
            z = zscore_over_time(z)
        return scale_gradient(z, self.decoder_grad_scale)

    def decode(self, z, generator=None):
        """Decoder input ``(batch, n_in, n_times)`` -> waveforms ``(batch, n_times * factor)``.

        ``n_in`` is ``aux_mels`` for ``decoder_input="mel"`` (a z-scored log-mel
        at the EEG frame rate), ``encoder_channels`` otherwise. ``generator``
        (a ``torch.Generator`` on ``z``'s device) draws the DDSP decoder's
        noise; the upsampler draws none and ignores it.
        """
        if self.ddsp is not None:
            if generator is None and not self.training:
                generator = torch.Generator(device=z.device)
                generator.manual_seed(int(self.noise_seed))
                n_audio = z.shape[-1] * self.factor
                noise = 2.0 * torch.rand((1, n_audio), generator=generator, device=z.device) - 1
                return self.ddsp(z, noise=noise.to(z.dtype).expand(len(z), -1))
            return self.ddsp(z, generator=generator)
        x = self.conv_pre(z)
        for stage in self.stages:
            x = stage(x)
        x = self.conv_post(leaky_relu(x, self.slope))
        return torch.tanh(x).squeeze(1)

    def forward(self, x, condition=None, return_aux=False, **kwargs):
        """EEG ``(batch, n_channels, n_times)`` -> waveforms ``(batch, n_times * factor)``.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
        condition : Tensor of int, shape (batch,) | None
            Condition code of each trial (see ``n_conditions``).
        return_aux : bool, default=False
            Also return the auxiliary log-mel prediction (None if disabled).
        **kwargs
            Metadata that scikit-learn routing forwards to skorch's ``forward``
            (e.g. ``groups``); accepted and ignored.

        Returns
        -------
        y : Tensor, shape (batch, n_times * factor)
        aux : Tensor, shape (batch, aux_mels, n_times) | None
            Only with ``return_aux=True``.
        """
        features, mel = self.encode_mel(x, condition)
        y = self.decode(self.decoder_input_from(features, mel))
        return (y, mel) if return_aux else y
