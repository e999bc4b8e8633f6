"""The registry of models and the pipeline helpers of sk_eeg2music.pipelines."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from sk_eeg2music import (
    BeatTemplateBaseline,
    EEG2MusicGAN,
    MeanSpectrumBaseline,
    ShuffledPairs,
    TimeShiftedPairs,
)
from sk_eeg2music._routing import call_routed
from sk_eeg2music.pipelines import (
    DEFAULT_MODELS,
    MODELS,
    gan_mel_bands,
    gan_warmup_epochs,
    make_linear_pipeline,
    make_models,
    predict_features,
)


def _gan(model):
    inner = model.estimator if isinstance(model, ShuffledPairs | TimeShiftedPairs) else model
    return inner[-1]


def test_registry_builds_every_model_it_names():
    models = make_models(64.0, list(MODELS), epochs=6, seed=3)
    assert list(models) == list(MODELS)
    assert set(DEFAULT_MODELS) <= set(MODELS)
    for name, model in models.items():
        clone(model)  # unfitted, scikit-learn compatible
        assert hasattr(model, "predict"), name
    assert isinstance(models["beat-template"], BeatTemplateBaseline)
    assert isinstance(models["mean-spectrum"], MeanSpectrumBaseline)
    assert isinstance(models["shuffled-gan"], ShuffledPairs)
    assert isinstance(models["time-shifted-gan"], TimeShiftedPairs)
    assert models["time-shifted-gan"].sfreq == 64.0


def test_registry_ablations_differ_from_the_gan_in_one_setting_only():
    models = make_models(64.0, list(MODELS), epochs=6, seed=3)
    base = _gan(models["gan"]).get_params(deep=False)
    assert base["max_epochs"] == 6 and base["warmup_epochs"] == gan_warmup_epochs(6)
    assert base["random_state"] == 3
    expected = {
        "gan-ddsp": {"decoder": "ddsp"},
        "gan-upsampler": {"decoder": "upsampler"},
        # The seed's configuration: one network with the upsampler, no pre-training.
        "gan-end-to-end": {"training": "end_to_end", "decoder": "upsampler"},
        "gan-recon-only": {"lambda_adv": 0.0},
        "gan-l1-encoder": {"lambda_clip": 0.0},
        "gan-finetune-encoder": {"finetune_encoder": True},
        "shuffled-gan": {},
        "time-shifted-gan": {},
    }
    for name, change in expected.items():
        params = _gan(models[name]).get_params(deep=False)
        diff = {k: v for k, v in params.items() if k in base and v != base[k]}
        diff = {k: v for k, v in diff.items() if not callable(v)}
        assert diff == change, name
        assert isinstance(_gan(models[name]), EEG2MusicGAN)


def test_registry_names_each_decoder_and_the_gan_takes_its_presets():
    models = make_models(64.0, ["gan", "gan-ddsp", "gan-upsampler"], epochs=2)
    assert _gan(models["gan-ddsp"]).decoder == "ddsp" and "DDSP" in MODELS["gan-ddsp"]
    assert _gan(models["gan-upsampler"]).decoder == "upsampler"
    assert _gan(models["gan"]).decoder is None  # the preset's: ddsp on "cpu"
    assert "gan-ddsp" not in DEFAULT_MODELS and "gan-upsampler" not in DEFAULT_MODELS


def _bands(model):
    inner = _gan(model) if isinstance(model, ShuffledPairs | TimeShiftedPairs) else model
    last = inner[-1] if isinstance(inner, Pipeline) else inner
    last = getattr(last, "estimator", last)  # ByCondition's template
    if isinstance(last, EEG2MusicGAN):
        return last.get_params()["module__aux_mels"]
    return last.n_mels


MEL_MODELS = [n for n in MODELS if n not in ("linear-envelope", "mean-spectrum")]


@pytest.mark.parametrize(
    ("kwargs", "bands"),
    [({}, 64), ({"gan_params": {"preset": "gpu"}}, 80), ({"n_mels": 16}, 16)],
)
def test_registry_mel_models_decode_the_same_bands(kwargs, bands):
    # Feature r is a mean over bands and finer bands are harder to decode:
    # models compared on features must decode the same bands.
    models = make_models(64.0, MEL_MODELS, **kwargs)
    assert {name: _bands(m) for name, m in models.items()} == dict.fromkeys(MEL_MODELS, bands)


def test_registry_features_have_one_band_count(simulated):
    data = simulated("mos").select(condition="listening")
    names = ["gan", "reduced-rank", "linear-mel", "beat-template"]
    models = make_models(data.sfreq, names, epochs=1, n_iter=2, gan_params={"preset": "tiny"})
    models["reduced-rank"].set_params(reduced_rank__rank=[1], reduced_rank__alphas=[10.0])
    models["linear-mel"].set_params(linear__alphas=[10.0])
    shapes = {}
    for name, model in models.items():
        call_routed(model, "fit", data.X, data.y, groups=data.groups)
        with sklearn.config_context(enable_metadata_routing=True):
            shapes[name] = predict_features(model, data.X, groups=data.groups).shape
    assert set(shapes.values()) == {
        (len(data.X), gan_mel_bands({"preset": "tiny"}), data.X.shape[2])
    }


def test_gan_mel_bands_rejects_an_unknown_preset():
    with pytest.raises(ValueError, match="preset must be one of"):
        gan_mel_bands({"preset": "huge"})


def test_registry_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown model name.*'gan'"):
        make_models(64.0, ["gan", "cnn"])


@pytest.mark.parametrize(("epochs", "warmup"), [(1, 1), (3, 1), (9, 3), (15, 5), (300, 5)])
def test_warmup_rule(epochs, warmup):
    assert gan_warmup_epochs(epochs) == warmup


def test_predict_features_runs_the_front_end_with_its_metadata(simulated):
    data = simulated("mos").select(condition="listening")
    pipe = make_linear_pipeline(data.sfreq, target="mel", alphas=[10.0])
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(data.X, data.y, groups=data.groups)
        feats = predict_features(pipe, data.X, groups=data.groups)
        Xt = pipe[:-1].transform(data.X, groups=data.groups)
    np.testing.assert_allclose(feats, pipe[-1].predict_features(Xt))
    assert feats.shape == (len(data.X), pipe[-1].n_mels, data.X.shape[2])


def test_predict_features_refuses_a_model_without_features(simulated):
    data = simulated("mos").select(condition="listening")
    from sklearn.dummy import DummyRegressor

    pipe = Pipeline([("dummy", DummyRegressor())])
    with pytest.raises(TypeError, match="DummyRegressor has no predict_features"):
        predict_features(pipe, data.X)
