"""The generator's decode stage: ``decoder="upsampler"`` or ``"ddsp"`` (the ``cpu`` preset's)."""

import functools

import numpy as np
import pytest
import torch
from _gan_helpers import FACTOR, N_CH, SFREQ, tiny_gan
from test_resume import _Interrupt, _StopAfter, assert_same_training_state, make_net
from test_staged import tone_data

from sk_eeg2music import load_model, save_model
from sk_eeg2music.models.gan import Generator, ReconstructionLoss, fit_or_resume
from sk_eeg2music.models.gan import estimator as gan_estimator
from sk_eeg2music.models.gan._ddsp import HarmonicNoiseDecoder
from sk_eeg2music.models.gan._staged import pretrain_decoder

pytestmark = pytest.mark.filterwarnings("ignore:Empty filters:UserWarning")

tiny_gan = functools.partial(tiny_gan, max_epochs=1)
ddsp_gan = functools.partial(tiny_gan, decoder="ddsp")
# A small synthesiser for the tests (the default grid has 128 channels).
SMALL = dict(channels=16, dilations=(1,), n_noise_bands=9)


@pytest.fixture(scope="module")
def data():
    X, y = tone_data(8)
    return X, y


def small_generator(decoder="ddsp", **kwargs):
    ddsp = dict(ddsp_params=SMALL) if decoder == "ddsp" else {}
    return Generator(
        N_CH,
        FACTOR,
        sfreq=SFREQ,
        encoder_channels=4,
        encoder_dilations=(1,),
        upsample_channels=8,
        aux_mels=8,
        decoder=decoder,
        **ddsp,
        **kwargs,
    )


# ------------------------------------------------------------------ Generator
def test_generator_builds_the_ddsp_decode_stage():
    gen = small_generator()
    assert isinstance(gen.ddsp, HarmonicNoiseDecoder)
    assert gen.conv_pre is None and gen.stages is None and gen.conv_post is None
    assert gen.ddsp.n_mels == 8 and gen.ddsp.factor == FACTOR
    ids = {id(p) for p in gen.decoder_parameters()}
    assert ids == {id(p) for p in gen.ddsp.parameters()}
    assert not ids & {id(p) for p in gen.encoder_parameters()}
    names = gen.decoder_state_names()
    assert names and all(n.startswith("ddsp.") for n in names)
    assert gen(torch.randn(3, N_CH, 20)).shape == (3, 20 * FACTOR)


def test_upsampler_state_names_are_the_old_prefixes():
    gen = small_generator("upsampler")
    prefixes = ("conv_pre.", "stages.", "conv_post.")
    assert gen.decoder_state_names() == [k for k in gen.state_dict() if k.startswith(prefixes)]
    assert gen.ddsp is None


def test_ddsp_prediction_is_deterministic_and_batch_independent():
    gen = small_generator().eval()
    z = torch.randn(4, 8, 12)
    with torch.no_grad():
        out = gen.decode(z)
        torch.testing.assert_close(gen.decode(z), out, rtol=0, atol=0)
        torch.testing.assert_close(gen.decode(z[1:2]), out[1:2])
    gen.train()  # training mode: fresh noise from the global generator
    with torch.no_grad():
        assert not torch.equal(gen.decode(z), gen.decode(z))


def test_bad_decoder_raises_naming_the_choices():
    with pytest.raises(ValueError, match="upsampler.*ddsp"):
        small_generator("wavenet")
    with pytest.raises(ValueError, match="ddsp_params"):
        small_generator("upsampler", ddsp_params=SMALL)


def test_ddsp_decoder_pretraining_converges_and_ignores_the_global_rng():
    _, y = tone_data(4)
    crit = ReconstructionLoss(SFREQ * FACTOR, FACTOR, n_mels=8, aux_mels=8)
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(0)
        gen = small_generator()
        torch.manual_seed(global_seed)  # the noise must come from the private generator
        runs.append(
            pretrain_decoder(
                gen,
                crit,
                torch.from_numpy(y),
                steps=60,
                batch_size=4,
                n_crop=16,
                factor=FACTOR,
                weights={"mel": 45.0, "stft_sc": 2.5, "stft_mag": 2.5},
                lr=1e-3,
                seed=0,
            )
        )
    assert runs[0] == runs[1]
    # measured: the last ten steps average 0.57 of the first ten (0.99 at lr 2e-4)
    assert np.mean(runs[0][-10:]) < 0.75 * np.mean(runs[0][:10])


# ------------------------------------------------------------------ estimator
@pytest.mark.parametrize("training", ["staged", "end_to_end"])
def test_fit_predict_shapes(data, training):
    X, y = data
    net = ddsp_gan(training=training).fit(X, y)
    assert isinstance(net.module_.ddsp, HarmonicNoiseDecoder)
    assert net.predict(X[:3]).shape == (3, y.shape[1])
    assert net.predict_features(X[:3]).shape == (3, 8, X.shape[-1])
    assert np.isfinite(net.predict(X)).all()
    if training == "staged":
        assert len(net.decoder_losses_) == 2 and net.prior_bank_ is not None


def test_end_to_end_gives_the_decoder_its_learning_rate(data):
    X, y = data
    net = ddsp_gan(training="end_to_end").fit(X, y)
    groups = {g["initial_lr"]: {id(p) for p in g["params"]} for g in net.optimizer_.param_groups}
    decoder = {id(p) for p in net.module_.decoder_parameters()}
    assert groups[gan_estimator.DDSP_LR] == decoder  # lr_decoder=None: 1e-3 for DDSP
    assert groups[net.lr_encoder] == {id(p) for p in net.module_.encoder_parameters()}
    # The upsampler without lr_decoder keeps sharing lr (no extra group).
    upsampler = tiny_gan(training="end_to_end").fit(X, y)
    assert sorted(g["initial_lr"] for g in upsampler.optimizer_.param_groups) == [
        upsampler.lr,
        upsampler.lr_encoder,
    ]


def test_staged_pretraining_uses_lr_decoder(data, monkeypatch):
    X, y = data
    seen = []
    real = gan_estimator._fit_decoder

    def spy(key, net, y_given, settings):
        seen.append(settings)
        return real(key, net, y_given, settings)

    monkeypatch.setattr(gan_estimator, "_fit_decoder", spy)
    tiny_gan().fit(X, y)
    ddsp_gan().fit(X, y)
    ddsp_gan(lr_decoder=5e-4).fit(X, y)
    assert [s["lr"] for s in seen] == [2e-4, gan_estimator.DDSP_LR, 5e-4]
    assert [s["decoder"] for s in seen] == ["upsampler", "ddsp", "ddsp"]


def test_same_seed_same_predictions(data):
    X, y = data
    a = ddsp_gan().fit(X, y).predict(X)
    np.testing.assert_array_equal(ddsp_gan().fit(X, y).predict(X), a)
    assert not np.array_equal(ddsp_gan(random_state=1).fit(X, y).predict(X), a)


def test_cache_key_depends_on_the_decoder(data):
    X, y = data
    keys = {
        tiny_gan().fit(X, y).decoder_key_,
        ddsp_gan().fit(X, y).decoder_key_,
        ddsp_gan(lr_decoder=5e-4).fit(X, y).decoder_key_,
        ddsp_gan(module__ddsp_params=dict(n_harmonics=2)).fit(X, y).decoder_key_,
    }
    assert len(keys) == 4


def test_cached_ddsp_decoder_equals_refit(data, tmp_path):
    X, y = data
    reference = ddsp_gan().fit(X, y).predict(X)
    first = ddsp_gan(memory=str(tmp_path)).fit(X, y)
    second = ddsp_gan(memory=str(tmp_path)).fit(X, y)  # from the joblib cache
    np.testing.assert_array_equal(first.predict(X), reference)
    np.testing.assert_array_equal(second.predict(X), reference)


def test_bad_decoder_or_lr_decoder_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="decoder must be one of.*upsampler.*ddsp"):
        tiny_gan(decoder="wavenet").fit(X, y)
    with pytest.raises(ValueError, match="lr_decoder must be a positive"):
        ddsp_gan(lr_decoder=-1.0).fit(X, y)


def test_save_load_round_trip(data, tmp_path):
    X, y = data
    net = ddsp_gan(module__ddsp_params=dict(n_harmonics=2, dilations=(1, 2))).fit(X, y)
    loaded = load_model(save_model(net, tmp_path / "gan.safetensors"))
    assert loaded.decoder == "ddsp" and isinstance(loaded.module_.ddsp, HarmonicNoiseDecoder)
    assert loaded.module_.ddsp.n_harmonics == 2
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_resume_matches_the_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 32)).astype(np.float32)
    y = (0.1 * rng.standard_normal((6, 32 * 16))).astype(np.float32)
    full = make_net(tmp_path / "full").set_params(decoder="ddsp").fit(X, y)
    net = make_net(tmp_path / "cut").set_params(decoder="ddsp")
    net.set_params(callbacks=[*net.callbacks, ("stop", _StopAfter(2))])
    with pytest.raises(_Interrupt):
        net.fit(X, y)
    resumed = fit_or_resume(make_net(tmp_path / "cut").set_params(decoder="ddsp"), X, y)
    assert_same_training_state(resumed, full)
