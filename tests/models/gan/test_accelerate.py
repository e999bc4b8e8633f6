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


DDP_SCRIPT = """
import numpy as np
from accelerate import Accelerator, DistributedDataParallelKwargs
from sk_eeg2music.models.gan import EEG2MusicGANAccelerate

acc = Accelerator(
    cpu=True, kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)]
)
rng = np.random.default_rng(0)
X = rng.standard_normal((8, 3, 32)).astype(np.float32)
y = (0.1 * rng.standard_normal((8, 32 * 16))).astype(np.float32)
params = dict(preset="tiny", max_epochs=2, warmup_epochs=1, batch_size=2, crop_seconds=0.25,
              discriminator_crop_seconds=0.1, verbose=0, random_state=0)
gan = EEG2MusicGANAccelerate(accelerator=acc, **params).fit(X, y)
print("weights", acc.process_index, acc.num_processes,
      float(sum(p.double().sum() for p in gan.module_.parameters())),
      float(sum(p.double().sum() for p in gan.discriminator_.parameters())), flush=True)
"""


# Two CPU processes with torch.distributed (gloo): DistributedDataParallel
# really synchronises both networks' gradients.
@pytest.mark.slow
def test_two_processes_keep_identical_weights(tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "train.py"
    script.write_text(DDP_SCRIPT)
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [
        str(torchrun),
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        "29531",
        str(script),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = re.findall(r"^weights (\d) (\d) (\S+) (\S+)$", out.stdout, re.M)
    assert len(lines) == 2, out.stderr[-3000:]
    assert {n for _, n, _, _ in lines} == {"2"}
    assert lines[0][2:] == lines[1][2:]


def test_several_processes_need_find_unused_parameters(accelerator, monkeypatch):
    from sk_eeg2music.models.gan import EEG2MusicGANAccelerate

    monkeypatch.setattr(type(accelerator), "num_processes", property(lambda self: 2))
    with pytest.raises(ValueError, match="find_unused_parameters=True"):
        EEG2MusicGANAccelerate(accelerator=accelerator, **PARAMS).fit(*_data())
