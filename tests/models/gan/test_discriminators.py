"""Waveform discriminators: output shapes, logits and feature maps, gradient flow."""

import math

import pytest
import torch

from sk_eeg2music.models.gan import MultiPeriodDiscriminator, MultiScaleDiscriminator
from sk_eeg2music.models.gan.discriminators import PeriodDiscriminator, ScaleDiscriminator

# Small networks: the shapes follow from the hyper-parameters, not from their size.
MSD = dict(n_scales=3, channels=4, max_channels=16, n_layers=2, downsampling=2)
MPD = dict(periods=(2, 3, 5), channels=(4, 8, 8), kernel_size=5, stride=3)


@pytest.fixture
def waves():
    return torch.randn(3, 256, generator=torch.Generator().manual_seed(0))


def _msd():
    torch.manual_seed(0)
    return MultiScaleDiscriminator(**MSD)


def _mpd():
    torch.manual_seed(0)
    return MultiPeriodDiscriminator(**MPD)


def test_multi_scale_shapes(waves):
    logits, fmaps = _msd()(waves)
    assert len(logits) == len(fmaps) == MSD["n_scales"]
    n_audio = waves.shape[1]
    for k, (logit, fmap) in enumerate(zip(logits, fmaps)):
        # Scale k sees the waveform average-pooled k times (halved each time); each
        # strided layer divides the length by `downsampling`, rounding up.
        n_in = n_audio // 2**k
        n_frames = math.ceil(n_in / MSD["downsampling"] ** MSD["n_layers"])
        assert logit.shape == (3, 1, n_frames)
        # First conv, n_layers strided convs, one last conv: each activation is kept.
        assert len(fmap) == MSD["n_layers"] + 2
        channels = [
            min(MSD["channels"] * MSD["downsampling"] ** i, MSD["max_channels"])
            for i in range(MSD["n_layers"] + 1)
        ]
        channels.append(min(channels[-1] * 2, MSD["max_channels"]))
        assert [f.shape[1] for f in fmap] == channels
        assert all(f.shape[0] == 3 for f in fmap)
        assert fmap[-1].shape[-1] == n_frames  # the logits are read from the last map


def test_multi_period_shapes(waves):
    logits, fmaps = _mpd()(waves)
    assert len(logits) == len(fmaps) == len(MPD["periods"])
    for period, logit, fmap in zip(MPD["periods"], logits, fmaps):
        # The waveform, padded to a multiple of the period, is folded to
        # (n_audio / period, period); all convolutions but the last have stride 3 in time.
        height = math.ceil(waves.shape[1] / period)
        for _ in MPD["channels"][:-1]:
            height = math.ceil(height / MPD["stride"])
        assert logit.shape == (3, height * period)  # flattened 2-D logit map
        assert [f.shape[1] for f in fmap] == list(MPD["channels"])
        assert all(f.dim() == 4 and f.shape[0] == 3 and f.shape[-1] == period for f in fmap)
        assert fmap[-1].shape[2] == height


@pytest.mark.parametrize("make", [_msd, _mpd], ids=["msd", "mpd"])
def test_channel_dim_is_optional_and_trials_are_independent(make, waves):
    disc = make()
    logits, fmaps = disc(waves)
    logits_3d, fmaps_3d = disc(waves[:, None, :])
    for a, b in zip(logits + sum(fmaps, []), logits_3d + sum(fmaps_3d, [])):
        torch.testing.assert_close(a, b)
    # No batch statistics: a waveform gets the same logits alone as in a batch.
    alone, _ = disc(waves[1:2])
    for a, b in zip(alone, logits):
        torch.testing.assert_close(a[0], b[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [_msd, _mpd], ids=["msd", "mpd"])
@pytest.mark.parametrize("n_audio", [5, 97])
def test_short_and_odd_lengths(make, n_audio):
    # Shorter than the reflection pad (zero padding instead), or not a multiple of a period.
    logits, fmaps = make()(torch.randn(2, n_audio))
    assert all(torch.isfinite(logit).all() and logit.shape[0] == 2 for logit in logits)
    assert all(torch.isfinite(f).all() for fmap in fmaps for f in fmap)


@pytest.mark.parametrize("make", [_msd, _mpd], ids=["msd", "mpd"])
def test_gradients_reach_every_parameter_and_the_input(make, waves):
    disc = make()
    waves = waves.clone().requires_grad_(True)
    logits, fmaps = disc(waves)
    # The two losses of the training step: adversarial (logits) and feature matching (maps).
    loss = sum(logit.mean() for logit in logits) + sum(f.abs().mean() for m in fmaps for f in m)
    loss.backward()
    for name, param in disc.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    # The generator is trained through the discriminator's input gradient.
    assert waves.grad is not None and waves.grad.abs().sum() > 0


def test_logits_depend_on_the_waveform(waves):
    # Each sub-discriminator's output changes with its input (none is constant).
    for disc in (_msd(), _mpd()):
        first, _ = disc(waves)
        second, _ = disc(waves.flip(-1))
        assert all(not torch.allclose(a, b) for a, b in zip(first, second))


def test_sub_discriminators_are_the_documented_kinds():
    msd, mpd = _msd(), _mpd()
    assert all(isinstance(d, ScaleDiscriminator) for d in msd.discriminators)
    assert [d.period for d in mpd.discriminators] == list(MPD["periods"])
    assert all(isinstance(d, PeriodDiscriminator) for d in mpd.discriminators)
