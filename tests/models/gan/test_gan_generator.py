import pickle

import numpy as np
import pytest
import torch

from sk_eeg2music.models.gan.generator import (
    Generator,
    default_encoder_dilations,
    plan_upsampling,
    prime_factors,
    receptive_field,
)

TINY = dict(
    encoder_channels=4,
    encoder_dilations=(1, 2),
    upsample_channels=8,
    min_channels=2,
    resblock_dilations=((1,),),
    aux_mels=3,
)


@pytest.mark.parametrize(
    "factor, rates",
    [
        (128, [8, 8, 2]),
        (250, [5, 5, 5, 2]),
        (256, [8, 8, 4]),
        (125, [5, 5, 5]),
        (7, [7]),
        (1, []),
        (502, [251, 2]),  # a prime above max_rate gets its own (interpolation) stage
    ],
)
def test_plan_upsampling(factor, rates):
    planned = plan_upsampling(factor)
    assert planned == rates
    assert int(np.prod(planned)) == factor
    assert all(r <= 8 or prime_factors(r) == [r] for r in planned)


def test_prime_factors_rejects_zero():
    with pytest.raises(ValueError, match="positive"):
        prime_factors(0)


@pytest.mark.parametrize("factor", [128, 250, 256, 125, 7, 1, 502])
@pytest.mark.parametrize("n_times", [5, 16])
def test_output_length_is_exactly_n_times_factor(factor, n_times):
    gen = Generator(3, factor, **TINY)
    y, aux = gen(torch.randn(2, 3, n_times), return_aux=True)
    assert y.shape == (2, n_times * factor)
    assert aux.shape == (2, 3, n_times)
    assert y.abs().max() <= 1.0  # tanh output


@pytest.mark.parametrize("sfreq", [64.0, 125.0, 128.0])
def test_default_receptive_field_covers_half_a_second(sfreq):
    dil = default_encoder_dilations(sfreq)
    assert receptive_field(dil) >= 0.5 * sfreq
    # ... and not more than twice what is needed (one doubling too many at most)
    assert receptive_field(dil[:-1]) < 0.5 * sfreq
    gen = Generator(2, 2, sfreq=sfreq, **{**TINY, "encoder_dilations": None})
    assert gen.encoder_dilations == dil


def test_encoder_receptive_field_is_what_it_claims():
    """An impulse in the EEG moves encoder features exactly within the receptive field."""
    gen = Generator(1, 2, sfreq=64.0, **{**TINY, "encoder_dilations": None}).double().eval()
    n, centre = 129, 64
    x = torch.zeros(1, 1, n, dtype=torch.float64)
    x2 = x.clone()
    x2[0, 0, centre] = 1e3  # large, so the weakest path stays above rounding
    with torch.no_grad():
        diff = (gen.encode(x2) - gen.encode(x)).abs().sum(1)[0]
    touched = torch.nonzero(diff > 0).flatten()
    half = (receptive_field(gen.encoder_dilations) - 1) // 2
    assert touched.min() == centre - half and touched.max() == centre + half


def test_bad_upsample_rates():
    with pytest.raises(ValueError, match="multiply to"):
        Generator(2, 250, upsample_rates=(5, 5), **TINY)


def test_forward_ignores_routed_metadata():
    gen = Generator(2, 4, **TINY)
    y = gen(torch.randn(1, 2, 8), groups=np.array(["sub-01"]))
    assert y.shape == (1, 32)


def test_resblock_type_1_and_mrf():
    gen = Generator(
        2,
        6,
        **{**TINY, "resblock_kernel_sizes": (3, 5), "resblock_dilations": ((1, 3), (1,))},
        resblock_type=1,
    )
    assert gen(torch.randn(1, 2, 4)).shape == (1, 24)
    with pytest.raises(ValueError, match="one entry per"):
        Generator(2, 6, **{**TINY, "resblock_kernel_sizes": (3, 5)})


def test_standardizer_statistics_apply():
    gen = Generator(2, 2, **TINY)
    gen.standardize.set_statistics([1.0, -1.0], [2.0, 0.5])
    out = gen.standardize(torch.tensor([[[3.0], [0.0]]]))
    torch.testing.assert_close(out, torch.tensor([[[1.0], [2.0]]]))


def test_generator_pickles():
    gen = Generator(2, 4, **TINY).eval()
    clone = pickle.loads(pickle.dumps(gen)).eval()
    x = torch.randn(1, 2, 6)
    torch.testing.assert_close(gen(x), clone(x))


@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0])
def test_decoder_grad_scale_controls_what_trains_the_encoder(scale):
    x = torch.randn(1, 2, 6)
    grads = {}
    for s in (1.0, scale):
        torch.manual_seed(0)
        gen = Generator(2, 4, **TINY, decoder_grad_scale=s)
        gen(x).sum().backward()
        grads[s] = gen.spatial.weight_v.grad
    decoder = Generator(2, 4, **TINY, decoder_grad_scale=scale)
    decoder(x).sum().backward()
    assert all(p.grad is not None for p in decoder.stages.parameters())
    if scale == 0.0:
        assert grads[0.0] is None  # the encoder only learns from the auxiliary head
    else:
        torch.testing.assert_close(grads[scale], scale * grads[1.0])


def test_aux_head_trains_encoder_even_when_decoder_is_detached():
    gen = Generator(2, 4, **TINY)
    assert gen.decoder_grad_scale == 0.0
    _, aux = gen(torch.randn(1, 2, 6), return_aux=True)
    aux.sum().backward()
    assert gen.spatial.weight_v.grad is not None
    assert Generator(2, 4, **{**TINY, "aux_mels": 0}).decoder_grad_scale == 1.0
