"""EEG2MusicGANAccelerate in accelerate's single-process CPU mode."""

import numpy as np
import pytest

pytest.importorskip("accelerate")


@pytest.fixture
def accelerator():
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    yield Accelerator(cpu=True)
    AcceleratorState._reset_state(reset_partial_state=True)


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 32)).astype(np.float32)
    y = (0.1 * rng.standard_normal((6, 32 * 16))).astype(np.float32)
    return X, y


PARAMS = dict(
    preset="tiny",
    max_epochs=2,
    warmup_epochs=1,
    batch_size=3,
    crop_seconds=0.25,
    discriminator_crop_seconds=0.1,
    verbose=0,
    random_state=0,
    iterator_train__shuffle=False,
)


def test_both_networks_and_optimizers_go_through_the_accelerator(accelerator, monkeypatch):
    from sk_eeg2music import EEG2MusicGAN
    from sk_eeg2music.models.gan import EEG2MusicGANAccelerate

    X, y = _data()
    calls = []
    backward = accelerator.backward
    monkeypatch.setattr(
        accelerator, "backward", lambda loss, **kw: calls.append(1) or backward(loss, **kw)
    )
    gan = EEG2MusicGANAccelerate(accelerator=accelerator, **PARAMS).fit(X, y)

    prepared_models = {id(m) for m in accelerator._models}
    assert {id(gan.module_), id(gan.discriminator_)} <= prepared_models
    assert len(accelerator._optimizers) == 2
    # Epoch 1 (warm-up): one generator backward per batch; epoch 2: discriminator + generator.
    n_batches = len(X) // PARAMS["batch_size"]
    assert len(calls) == n_batches + 2 * n_batches
    assert np.isfinite(gan.history[:, "train_d_loss"][-1])

    # One CPU process in float32 trains exactly as the plain estimator.
    plain = EEG2MusicGAN(**PARAMS).fit(X, y)
    np.testing.assert_allclose(gan.predict(X), plain.predict(X), rtol=1e-5, atol=1e-6)
