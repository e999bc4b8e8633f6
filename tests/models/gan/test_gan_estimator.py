import pickle

import numpy as np
import pytest
import torch
from _gan_helpers import FACTOR, N_CH, N_TIMES, SFREQ, tiny_gan
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.callbacks import Checkpoint, ProgressBar
from skorch.dataset import ValidSplit

from sk_eeg2music.metrics import mel_correlation
from sk_eeg2music.models.gan import Generator, MultiScaleDiscriminator

# The metrics' 32-band mel has empty bands at a 512-Hz audio rate (harmless here).
pytestmark = pytest.mark.filterwarnings("ignore:Empty filters:UserWarning")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, N_CH, N_TIMES)).astype(np.float32) * 1e-5
    t = np.arange(N_TIMES * FACTOR) / (SFREQ * FACTOR)
    f0 = rng.uniform(40, 120, (12, 1))
    y = (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
    groups = np.repeat(["s1", "s2", "s3"], 4)
    return X, y, groups


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return tiny_gan().fit(X, y)


def _disc_state(net):
    return [p.detach().clone() for p in net.discriminator_.parameters()]


# ------------------------------------------------------------------- basics
def test_fit_predict_shapes_and_inferred_attributes(fitted, data):
    X, y, _ = data
    assert fitted.factor_ == FACTOR and fitted.audio_sfreq_ == SFREQ * FACTOR
    assert fitted.n_channels_in_ == fitted.n_features_in_ == N_CH
    pred = fitted.predict(X)
    assert pred.shape == y.shape and pred.dtype == np.float32
    assert isinstance(fitted.module_, Generator)
    assert isinstance(fitted.discriminator_, MultiScaleDiscriminator)


def test_input_statistics_come_from_training_data(fitted, data):
    X, _, _ = data
    np.testing.assert_allclose(fitted.input_mean_, X.mean(axis=(0, 2)), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(fitted.input_scale_, X.std(axis=(0, 2)), rtol=1e-4)
    buf = fitted.module_.standardize.scale.flatten().cpu().numpy()
    np.testing.assert_allclose(buf, fitted.input_scale_)


def test_history_records_d_loss_and_every_component(fitted):
    hist = fitted.history
    comps = ["mel", "stft_sc", "stft_mag", "aux", "adv", "fm", "d_loss", "d_real", "d_fake"]
    for name in comps:
        assert f"train_{name}" in hist[-1], name  # per epoch
        assert all(f"train_{name}" in b for b in hist[-1, "batches"])  # per batch
    # Warm-up epoch: reconstruction only, adversarial terms not computed.
    assert np.isnan(hist[0, "train_d_loss"]) and np.isnan(hist[0, "train_adv"])
    assert np.isfinite(hist[1, "train_d_loss"]) and np.isfinite(hist[1, "train_fm"])
    assert np.isfinite(hist[0, "train_mel"])
    # The logged training loss is the weighted sum of its parts.
    b = hist[-1, "batches", -1]
    expected = (
        45 * b["train_mel"]
        + 2.5 * (b["train_stft_sc"] + b["train_stft_mag"])
        + 10 * b["train_aux"]
        + b["train_adv"]
        + 2 * b["train_fm"]
    )
    assert b["train_loss"] == pytest.approx(expected, rel=1e-4)


def test_optimizers_are_separate_and_explicit(data):
    X, y, _ = data
    net = tiny_gan(max_epochs=0, lr=1e-3, lr_discriminator=5e-5).fit(X, y)
    # Staged: skorch's epochs fine-tune everything but the early-stopped encoder.
    encoder = {id(p) for p in net.module_.encoder_parameters()}
    g_params = {id(p) for p in net.module_.parameters()}
    opt_g = {id(p) for g in net.optimizer_.param_groups for p in g["params"]}
    opt_d = {id(p) for g in net.optimizer_discriminator_.param_groups for p in g["params"]}
    assert encoder and opt_g == g_params - encoder
    tuned = tiny_gan(max_epochs=0, finetune_encoder=True).fit(X, y)
    assert {id(p) for g in tuned.optimizer_.param_groups for p in g["params"]} == {
        id(p) for p in tuned.module_.parameters()
    }
    assert opt_d == {id(p) for p in net.discriminator_.parameters()}
    assert net.optimizer_.param_groups[0]["lr"] == 1e-3
    assert net.optimizer_discriminator_.param_groups[0]["lr"] == 5e-5
    assert net.optimizer_discriminator_.param_groups[0]["betas"] == (0.8, 0.99)
    assert isinstance(net.optimizer_, torch.optim.AdamW)
    net.set_params(optimizer_discriminator__lr=1e-2)
    assert net.optimizer_discriminator_.param_groups[0]["lr"] == 1e-2


def _group_of(optimizer, params):
    """Index of the single optimizer group holding every parameter in ``params``."""
    where = {id(p): i for i, g in enumerate(optimizer.param_groups) for p in g["params"]}
    groups = {where[id(p)] for p in params}
    assert len(groups) == 1, groups
    return groups.pop()


def test_encoder_has_its_own_learning_rate(data):
    X, y, _ = data
    # The parameter group exists in the end-to-end ablation; staged training
    # fits the encoder at lr_encoder before skorch's epochs.
    net = tiny_gan(max_epochs=0, lr=1e-4, lr_encoder=5e-3, training="end_to_end").fit(X, y)
    encoder = list(net.module_.encoder_parameters())
    enc_ids = {id(p) for p in encoder}
    upsampler = [p for p in net.module_.parameters() if id(p) not in enc_ids]
    assert encoder and upsampler
    groups = net.optimizer_.param_groups
    assert groups[_group_of(net.optimizer_, encoder)]["lr"] == 5e-3
    assert groups[_group_of(net.optimizer_, upsampler)]["lr"] == 1e-4
    # The auxiliary head and the spatial convolution belong to the encoder.
    assert {id(p) for p in net.module_.aux_head.parameters()} <= enc_ids
    assert {id(p) for p in net.module_.spatial.parameters()} <= enc_ids


def test_lr_encoder_none_keeps_one_group(data):
    X, y, _ = data
    net = tiny_gan(max_epochs=0, lr=1e-4, lr_encoder=None, training="end_to_end").fit(X, y)
    assert [g["lr"] for g in net.optimizer_.param_groups] == [1e-4]


def test_set_params_lr_sets_every_group(data):
    # Documented in gan.rst: skorch's rule, the encoder's group included.
    X, y, _ = data
    net = tiny_gan(max_epochs=0, lr=1e-4, lr_encoder=5e-3, training="end_to_end").fit(X, y)
    net.set_params(lr=3e-4)
    assert [g["lr"] for g in net.optimizer_.param_groups] == [3e-4, 3e-4]


def test_explicit_param_groups_win_over_lr_encoder(data):
    X, y, _ = data
    net = tiny_gan(
        max_epochs=0,
        lr_encoder=5e-3,
        training="end_to_end",
        optimizer__param_groups=[("aux_head*", {"lr": 7e-4})],
    ).fit(X, y)
    aux = list(net.module_.aux_head.parameters())
    rest = [p for p in net.module_.encoder_parameters() if id(p) not in {id(q) for q in aux}]
    assert net.optimizer_.param_groups[_group_of(net.optimizer_, aux)]["lr"] == 7e-4
    assert net.optimizer_.param_groups[_group_of(net.optimizer_, rest)]["lr"] == 5e-3


def test_encoder_learning_rate_speeds_up_the_auxiliary_fit(data):
    # Same seed, data and steps: the larger encoder rate must lower the
    # auxiliary (EEG -> mel) loss further. Guards the group's effect, not just
    # its presence.
    X, y, _ = data

    def aux_loss(lr_encoder):
        net = tiny_gan(
            max_epochs=6, lambda_adv=0, lr=1e-4, lr_encoder=lr_encoder, training="end_to_end"
        ).fit(X, y)
        return net.history[-1, "train_aux"]

    assert aux_loss(1e-2) < aux_loss(None)


def split_groups_cases():
    a, b, c = (torch.nn.Parameter(torch.zeros(1)) for _ in range(3))
    return a, b, c


def test_split_param_group_pure_function():
    from sk_eeg2music.models.gan._training import split_param_group

    a, b, c = split_groups_cases()
    out = split_param_group([{"params": [a], "lr": 1.0}, {"params": [b, c]}], [c], lr=9.0)
    assert [([id(p) for p in g["params"]], g.get("lr")) for g in out] == [
        ([id(a)], 1.0),
        ([id(b)], None),
        ([id(c)], 9.0),
    ]
    # No default group (every parameter matched a pattern): unchanged.
    groups = [{"params": [a, b], "lr": 1.0}]
    assert split_param_group(groups, [a], lr=9.0) is groups
    # Nothing selected: unchanged; everything selected: no empty default group.
    groups = [{"params": [a, b]}]
    assert split_param_group(groups, [c], lr=9.0) is groups
    assert split_param_group(groups, [a, b], lr=9.0) == [{"params": [a, b], "lr": 9.0}]


def test_warmup_keeps_discriminator_frozen_then_trains_it(data):
    X, y, _ = data
    net = tiny_gan(max_epochs=0).fit(X, y)
    before = _disc_state(net)
    net.set_params(max_epochs=1, warmup_epochs=1)
    net.partial_fit(X, y)  # epoch 1: warm-up
    assert all(torch.equal(a, b) for a, b in zip(before, _disc_state(net)))
    net.partial_fit(X, y)  # epoch 2: adversarial
    assert any(not torch.equal(a, b) for a, b in zip(before, _disc_state(net)))


def test_lambda_adv_zero_never_touches_discriminator(data):
    X, y, _ = data
    net = tiny_gan(lambda_adv=0.0, warmup_epochs=0, max_epochs=0).fit(X, y)
    before = _disc_state(net)
    calls = []
    net.discriminator_.register_forward_hook(lambda *a: calls.append(1))
    net.set_params(max_epochs=2)
    net.partial_fit(X, y)
    assert not calls
    assert all(torch.equal(a, b) for a, b in zip(before, _disc_state(net)))
    assert not net.optimizer_discriminator_.state
    assert all(np.isnan(v) for v in net.history[:, "train_d_loss"])


def test_hinge_loss_and_no_feature_matching(data):
    X, y, _ = data
    net = tiny_gan(adversarial_loss="hinge", lambda_fm=0.0, warmup_epochs=0, max_epochs=1)
    net.fit(X, y)
    assert np.isfinite(net.history[-1, "train_adv"]) and np.isnan(net.history[-1, "train_fm"])


# ------------------------------------------------------------- sklearn contract
def test_reproducible_with_random_state(fitted, data):
    X, y, _ = data
    again = tiny_gan().fit(X, y)
    np.testing.assert_array_equal(fitted.predict(X), again.predict(X))
    other = tiny_gan(random_state=1).fit(X, y)
    assert not np.array_equal(fitted.predict(X), other.predict(X))


def test_random_state_does_not_leak_into_global_rng(data):
    X, y, _ = data
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    tiny_gan(max_epochs=1).fit(X, y)
    assert torch.equal(torch.rand(1), expected)


def test_clone_before_and_after_fit(fitted, data):
    X, y, _ = data
    unfitted = tiny_gan(module__encoder_channels=6, discriminator__channels=2)
    for est in (unfitted, fitted):
        c = clone(est)
        assert c.get_params().keys() == est.get_params().keys()
        assert not hasattr(c, "factor_") and not c.initialized_
    c = clone(unfitted).fit(X, y)
    assert c.module_.spatial.out_channels == 6


def test_pickle_round_trip_gives_identical_predictions(fitted, data):
    X, _, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_score_is_mel_correlation(fitted, data):
    X, y, _ = data
    expected = mel_correlation(y, fitted.predict(X), sfreq=fitted.audio_sfreq_)
    assert fitted.score(X, y) == pytest.approx(expected)
    assert fitted.score(X, y, sample_weight=np.ones(len(y))) == pytest.approx(expected)


def test_grid_search_over_lambda_adv(data):
    X, y, groups = data
    search = GridSearchCV(
        tiny_gan(max_epochs=1, warmup_epochs=0),
        {"lambda_adv": [0.0, 1.0]},
        cv=GroupKFold(3),
    )
    search.fit(X, y, groups=groups)
    assert search.best_params_["lambda_adv"] in (0.0, 1.0)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_float64_input_and_2d_input_refused(data):
    X, y, _ = data
    net = tiny_gan(max_epochs=1).fit(X.astype(np.float64), y.astype(np.float32))
    assert all(p.dtype == torch.float32 for p in net.module_.parameters())  # cast
    assert net.predict(X.astype(np.float64)).dtype == np.float32
    # predictions come back in the precision of the targets seen in fit
    net64 = tiny_gan(max_epochs=1).fit(X, y.astype(np.float64))
    assert net64.output_dtype_ == np.float64
    np.testing.assert_allclose(net64.predict(X), net.predict(X), rtol=1e-5, atol=1e-7)
    X2 = X[:, :, 0]  # (n_trials, n_features): ambiguous, refused with a hint
    with pytest.raises(ValueError, match="Reshape your data"):
        tiny_gan(max_epochs=1).fit(X2, y[:, :FACTOR])


def test_progress_bar_and_metadata_routing(data):
    X, y, groups = data
    net = tiny_gan(max_epochs=1, callbacks=[ProgressBar()])
    net.fit(X, y, groups=groups)  # routed metadata reaches forward and is ignored
    assert len(net.history) == 1


# -------------------------------------------------------- inner validation split
def test_grouped_inner_split_keeps_subjects_apart(data):
    X, y, groups = data
    net = tiny_gan(max_epochs=1, train_split=ValidSplit(GroupKFold(3)))
    ds_train, ds_valid = net.fit(X, y, groups=groups).get_split_datasets(X, y, groups=groups)
    train_groups = set(groups[ds_train.indices])
    valid_groups = set(groups[ds_valid.indices])
    assert train_groups and valid_groups and not train_groups & valid_groups
    assert np.isfinite(net.history[-1, "valid_loss"])


def test_random_inner_split_with_groups_is_refused(data):
    X, y, groups = data
    with pytest.raises(ValueError, match="GroupKFold"):
        tiny_gan(max_epochs=1, train_split=ValidSplit(3)).fit(X, y, groups=groups)


# ------------------------------------------------------------------- checkpoint
def test_checkpoint_saves_and_restores_both_networks(data, tmp_path):
    X, y, _ = data
    cp = Checkpoint(
        monitor="train_loss_best",
        dirname=str(tmp_path),
        f_discriminator="discriminator.pt",
        f_optimizer_discriminator="optimizer_discriminator.pt",
    )
    net = tiny_gan(max_epochs=2, warmup_epochs=0, callbacks=[cp]).fit(X, y)
    for name in ("params.pt", "optimizer.pt", "discriminator.pt", "optimizer_discriminator.pt"):
        assert (tmp_path / name).exists(), name
    net.save_params(
        f_params=tmp_path / "g.pt",
        f_discriminator=tmp_path / "d.pt",
        f_optimizer_discriminator=tmp_path / "od.pt",
    )
    new = tiny_gan(max_epochs=0, random_state=5).fit(X, y)
    new.load_params(
        f_params=tmp_path / "g.pt",
        f_discriminator=tmp_path / "d.pt",
        f_optimizer_discriminator=tmp_path / "od.pt",
    )
    np.testing.assert_array_equal(new.predict(X), net.predict(X))
    for a, b in zip(new.discriminator_.parameters(), net.discriminator_.parameters()):
        assert torch.equal(a, b)
    assert new.optimizer_discriminator_.state_dict()["state"].keys() == (
        net.optimizer_discriminator_.state_dict()["state"].keys()
    )


def test_initialize_without_data_says_what_to_do():
    with pytest.raises(ValueError, match="call fit"):
        tiny_gan().initialize()


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make_bad, match",
    [
        (lambda X, y: (X, y[:, :-3]), "n_times x an integer"),
        (lambda X, y: (X, y[:-1]), "different numbers of trials"),
        (lambda X, y: (X, np.where(np.arange(y.size).reshape(y.shape) == 5, np.nan, y)), "NaN"),
        (lambda X, y: (np.where(X > 1e-5, np.inf, X), y), "NaN"),
        (lambda X, y: (X, y[:, 0]), r"2-D with shape \(n_trials, n_audio\)"),
        (lambda X, y: (X, y[:, None]), r"2-D with shape \(n_trials, n_audio\)"),
        (lambda X, y: (X[0, 0], y), r"3-D with shape \(n_trials, n_channels, n_times\)"),
        (lambda X, y: (X[..., None], y), "3-D"),
    ],
)
def test_bad_fit_input(data, make_bad, match):
    X, y, _ = data
    Xb, yb = make_bad(X, y)
    with pytest.raises(ValueError, match=match):
        tiny_gan(max_epochs=0).fit(Xb, yb)


def test_bad_predict_input(fitted, data):
    X, y, _ = data
    with pytest.raises(ValueError, match=f"fitted on {N_CH}"):
        fitted.predict(X[:, :-1])
    with pytest.raises(ValueError, match=r"\(12, 512\)"):
        fitted.score(X, y[:, : 4 * N_TIMES].reshape(12, -1))
    with pytest.raises(ValueError, match="factor|per EEG sample"):
        fitted.partial_fit(X, np.concatenate([y, y], axis=1))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"preset": "huge"}, "preset"),
        ({"sfreq": -1.0}, "sfreq"),
        ({"adversarial_loss": "wgan"}, "adversarial_loss"),
        ({"lr_encoder": 0.0}, "lr_encoder"),
        ({"lr_encoder": "fast"}, "lr_encoder"),
        ({"training": "joint"}, "training"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y, _ = data
    with pytest.raises(ValueError, match=match):
        tiny_gan(max_epochs=0, **params).fit(X, y)


def test_presets_choose_networks(data):
    X, y, _ = data
    from sk_eeg2music.models.gan import MultiPeriodDiscriminator

    short = dict(max_epochs=0, decoder_steps=1, encoder_epochs=1)
    cpu = tiny_gan(preset="cpu", **short).fit(X, y)
    gpu = tiny_gan(preset="gpu", **short).fit(X, y)
    assert isinstance(cpu.discriminator_, MultiScaleDiscriminator)
    assert isinstance(gpu.discriminator_, MultiPeriodDiscriminator)
    n_params = [sum(p.numel() for p in n.module_.parameters()) for n in (cpu, gpu)]
    assert n_params[0] < 1e6 < n_params[1]
    # explicit module__/discriminator__ parameters win over the preset
    assert cpu.module_.decoder == "ddsp" and gpu.module_.decoder == "upsampler"  # presets
    net = tiny_gan(
        preset="cpu",
        decoder="upsampler",
        **short,
        module__upsample_channels=16,
        discriminator=MultiPeriodDiscriminator,
        discriminator__channels=(2, 2),
    )
    net.fit(X, y)
    assert net.module_.conv_pre.out_channels == 16
    assert isinstance(net.discriminator_, MultiPeriodDiscriminator)


@pytest.mark.parametrize("teacher_forcing", [0.0, 1.0])
def test_teacher_forcing_decodes_true_spectrograms(data, teacher_forcing):
    X, y, _ = data
    net = tiny_gan(max_epochs=0, teacher_forcing=teacher_forcing).fit(X, y)
    net.module_.eval()
    outs = []
    for scale in (1.0, -3.0):  # two different EEG inputs, same audio and crops
        torch.manual_seed(0)
        y_fake, _, aux, target = net._generate(torch.from_numpy(X * scale), torch.from_numpy(y))
        outs.append(y_fake.detach())
        assert aux.shape == target.shape == (len(X), 8, N_TIMES)
    assert torch.equal(outs[0], outs[1]) == (teacher_forcing == 1.0)
