import librosa
import numpy as np
import pytest
import torch

from sk_eeg2music.audio import log_mel_spectrogram
from sk_eeg2music.models.gan.discriminators import (
    MultiPeriodDiscriminator,
    MultiScaleDiscriminator,
)
from sk_eeg2music.models.gan.losses import (
    LogMelSpectrogram,
    ReconstructionLoss,
    default_stft_resolutions,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    multi_resolution_stft_loss,
    slaney_mel_filterbank,
    stft_magnitude,
    waveform_l1_loss,
    weighted_sum,
    zscore_over_time,
)

SR = 4000


@pytest.fixture
def waves(make_audio):
    y = torch.from_numpy(make_audio(n_trials=3, n_audio=2000, sfreq=SR))
    return y, torch.from_numpy(make_audio(n_trials=3, n_audio=2000, sfreq=SR, seed=1))


# ----------------------------------------------------------------- discriminators
@pytest.mark.parametrize(
    "disc, n_sub",
    [
        (MultiScaleDiscriminator(n_scales=3, channels=4, max_channels=16, n_layers=2), 3),
        (MultiPeriodDiscriminator(periods=(2, 3), channels=(4, 8)), 2),
    ],
)
@pytest.mark.parametrize("n_audio", [5, 300])
def test_discriminators_return_logits_and_feature_maps(disc, n_sub, n_audio):
    y = torch.randn(2, n_audio, requires_grad=True)
    logits, fmaps = disc(y)
    assert len(logits) == len(fmaps) == n_sub
    assert all(lg.shape[0] == 2 for lg in logits)
    assert all(len(f) >= 2 and all(t.shape[0] == 2 for t in f) for f in fmaps)
    sum(f[0].sum() for f in fmaps).backward()
    assert y.grad is not None and y.grad.abs().sum() > 0


def test_discriminators_accept_channel_dim():
    disc = MultiScaleDiscriminator(n_scales=1, channels=4, max_channels=8, n_layers=1)
    y = torch.randn(2, 64)
    torch.testing.assert_close(disc(y)[0][0], disc(y[:, None])[0][0])
    with pytest.raises(ValueError, match="batch, n_audio"):
        disc(torch.randn(2, 2, 64))


# ---------------------------------------------------------------- adversarial
def test_lsgan_and_hinge_values():
    real, fake = [torch.tensor([1.0, 0.5])], [torch.tensor([0.0, -2.0])]
    total, parts = discriminator_loss(real, fake, "lsgan")
    assert parts["d_real"].item() == pytest.approx((0 + 0.25) / 2)
    assert parts["d_fake"].item() == pytest.approx((0 + 4) / 2)
    assert total.item() == pytest.approx(parts["d_real"].item() + parts["d_fake"].item())
    total, parts = discriminator_loss(real, fake, "hinge")
    assert parts["d_real"].item() == pytest.approx((0 + 0.5) / 2)
    assert parts["d_fake"].item() == pytest.approx((1 + 0) / 2)
    assert generator_adversarial_loss(fake, "lsgan")[0].item() == pytest.approx((1 + 9) / 2)
    assert generator_adversarial_loss(fake, "hinge")[0].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="lsgan"):
        discriminator_loss(real, fake, "wasserstein")


def test_losses_sum_over_sub_discriminators():
    one = discriminator_loss([torch.ones(3)], [torch.ones(3)])[0]
    two = discriminator_loss([torch.ones(3)] * 2, [torch.ones(3)] * 2)[0]
    assert two.item() == pytest.approx(2 * one.item())


def test_feature_matching_zero_iff_equal_and_real_detached():
    real = [[torch.ones(2, 3, requires_grad=True), torch.zeros(2, 1)]]
    fake = [[torch.ones(2, 3, requires_grad=True), torch.full((2, 1), 0.5)]]
    total, parts = feature_matching_loss(real, fake)
    assert total.item() == pytest.approx(0.5) and parts["fm"] is total
    total.backward()
    assert real[0][0].grad is None and fake[0][0].grad is not None


# --------------------------------------------------------------- reconstruction
def test_mrstft_zero_for_identical_and_grows_with_error(waves):
    y, other = waves
    res = default_stft_resolutions(SR)
    total, parts = multi_resolution_stft_loss(y, y, res)
    assert total.item() == pytest.approx(0.0, abs=1e-6)
    small = multi_resolution_stft_loss(y + 0.01 * other, y, res)[0].item()
    large = multi_resolution_stft_loss(other, y, res)[0].item()
    assert 0 < small < large
    assert set(multi_resolution_stft_loss(other, y, res)[1]) == {"stft_sc", "stft_mag"}


def test_spectral_convergence_of_silence_is_one(waves):
    y, _ = waves
    sc = multi_resolution_stft_loss(torch.zeros_like(y), y, ((256, 64, 256),))[1]["stft_sc"]
    assert sc.item() == pytest.approx(1.0, abs=1e-3)


def test_default_stft_resolutions_scale_with_rate():
    assert default_stft_resolutions(24000) == ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
    for n_fft, hop, win in default_stft_resolutions(16000) + default_stft_resolutions(64):
        assert n_fft >= 16 and 1 <= hop and 2 <= win <= n_fft


def test_filterbank_is_librosa_slaney():
    fb = slaney_mel_filterbank(16000, 512, 40, fmin=30.0)
    ref = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=30.0, norm="slaney")
    np.testing.assert_allclose(fb, ref, rtol=1e-6)


def test_log_mel_matches_package_definition(waves):
    """The loss's log-mel is the one the metrics use (same filterbank, frames, log)."""
    y, _ = waves
    mel = LogMelSpectrogram(SR, hop_length=40, n_mels=16, eps=1e-8)
    ours = mel(y).numpy()
    ref = log_mel_spectrogram(y.numpy(), SR, 40, n_mels=16, eps=1e-8)
    assert ours.shape == ref.shape == (3, 16, 2000 // 40)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=1e-3)


def test_reconstruction_loss_parts(waves):
    y, other = waves
    crit = ReconstructionLoss(SR, hop_length=40, aux_mels=16, n_mels=16)
    aux_target = zscore_over_time(crit.mel(y))
    parts = crit(other, y, aux=aux_target + 1.0)
    assert set(parts) == {"mel", "stft_sc", "stft_mag", "wav", "aux"}
    assert parts["aux"].item() == pytest.approx(1.0, rel=1e-5)
    assert parts["wav"].item() == pytest.approx(waveform_l1_loss(other, y)[0].item())
    same = crit(y, y, aux=aux_target)
    assert all(v.item() == pytest.approx(0.0, abs=1e-5) for v in same.values())
    only = crit(other, y, components=("mel",))
    assert set(only) == {"mel"}


def test_aux_head_with_its_own_filterbank(waves):
    y, _ = waves
    crit = ReconstructionLoss(SR, hop_length=40, aux_hop_length=20, n_mels=16, aux_mels=8)
    target = zscore_over_time(crit.aux_mel(y))
    assert target.shape == (3, 8, 100)
    torch.testing.assert_close(target.mean(-1), torch.zeros(3, 8), atol=1e-5, rtol=0)
    torch.testing.assert_close(target.std(-1, unbiased=False), torch.ones(3, 8), atol=1e-3, rtol=0)
    assert crit(y, y, aux=target)["aux"].item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="aux_mels"):
        crit(y, y, aux=torch.zeros(3, 5, 100))


def test_weighted_sum():
    parts = {"a": torch.tensor(2.0), "b": torch.tensor(3.0), "c": torch.tensor(np.nan)}
    assert weighted_sum(parts, {"a": 1.0, "b": 10.0}).item() == pytest.approx(32.0)
    assert weighted_sum({"a": torch.tensor(2.0)}, {}).item() == 0.0


@pytest.mark.parametrize("n_fft, hop, win", [(256, 64, 256), (512, 80, 400), (64, 7, 33)])
def test_stft_magnitude_matches_torch_stft(waves, n_fft, hop, win):
    y, _ = waves
    ref = torch.stft(
        y,
        n_fft,
        hop,
        win,
        window=torch.hann_window(win),
        center=True,
        pad_mode="constant",
        return_complex=True,
    ).abs()
    ours = stft_magnitude(y, n_fft, hop, win)
    assert ours.shape == ref.shape
    torch.testing.assert_close(ours, ref.clamp_min(1e-7), atol=1e-4, rtol=1e-4)
