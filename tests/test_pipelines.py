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
from sk_eeg2music.pipelines import (
    DEFAULT_MODELS,
    MODELS,
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
