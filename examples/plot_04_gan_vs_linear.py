"""
The GAN against linear decoders, on one held-out subject
========================================================

:class:`~sk_eeg2music.EEG2MusicGAN` and two
:class:`~sk_eeg2music.LinearDecoder` baselines (envelope and mel targets) are
trained on the listening trials of three simulated subjects and tested on a
fourth. We compare their
scores with the shuffled control, read the GAN's training history, and look at
and listen to the reconstructions.

The GAN is the smallest one (``preset="tiny"``), trained for a handful of
epochs so that this page builds in seconds on a CPU: it shows how to run and
inspect the comparison, not how well a trained GAN does (see :ref:`gan` for
real settings and :doc:`/benchmarks` for the numbers).
"""

# %%
# Data and split
# --------------
import base64
import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import soundfile as sf
from sk_eeg2music.model_selection import ShuffledPairs
from sklearn.pipeline import make_pipeline

from sk_eeg2music import (
    ChannelScaler,
    Clip,
    EEG2MusicGAN,
    EuclideanAlignment,
    LinearDecoder,
    make_simulated,
)
from sk_eeg2music.audio import log_mel_spectrogram
from sk_eeg2music.metrics import make_scorers

data = make_simulated(kind="mos", n_subjects=4, segment_seconds=4.0, random_state=0)
data = data.select(condition="listening")
test = data.subject == "sub-04"
X_train, y_train, X_test, y_test = data.X[~test], data.y[~test], data.X[test], data.y[test]
print(f"{len(X_train)} training trials, {len(X_test)} test trials of a new subject")

# %%
# Four models, one preprocessing
# ------------------------------
# The preprocessing is refitted inside each pipeline, on the training subjects.


def preprocessing():
    return [ChannelScaler(robust=True), Clip(20.0), EuclideanAlignment()]


linear = dict(
    tmin=0.0,
    tmax=0.25,
    sfreq=data.sfreq,
    alphas=np.logspace(-1, 5, 7),
    audio_sfreq=data.audio_sfreq,
)
gan = EEG2MusicGAN(
    sfreq=data.sfreq, preset="tiny", max_epochs=4, warmup_epochs=2, batch_size=16, random_state=0
)
models = {
    "GAN": make_pipeline(*preprocessing(), gan),
    "linear (mel)": make_pipeline(*preprocessing(), LinearDecoder(target="mel", **linear)),
    "linear (envelope)": make_pipeline(
        *preprocessing(), LinearDecoder(target="envelope", **linear)
    ),
    "shuffled control (mel)": ShuffledPairs(
        make_pipeline(*preprocessing(), LinearDecoder(target="mel", **linear))
    ),
}
for model in models.values():
    model.fit(X_train, y_train)

# %%
# Scores on the held-out subject
# ------------------------------
scorers = make_scorers(data.audio_sfreq)
table = pd.DataFrame(
    {
        name: {metric: scorer(model, X_test, y_test) for metric, scorer in scorers.items()}
        for name, model in models.items()
    }
).T
print(table.round(3).to_string())

# %%
# The GAN's training history
# --------------------------
# One row per epoch; the reconstruction terms fall during the warm-up, the
# adversarial terms appear once the discriminator is switched on (see
# :ref:`gan-history`).
fitted_gan = models["GAN"][-1]
history = pd.DataFrame(fitted_gan.history.to_list()).set_index("epoch")
history = history.filter(like="train_").select_dtypes("number")
print(history.round(4).to_string())

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
history.plot(ax=ax, marker="o")
ax.axvline(fitted_gan.warmup_epochs + 0.5, color="k", ls="--", lw=0.8)
ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="GAN training history")
plt.show()

# %%
# Spectrograms of one test trial
# ------------------------------
trial = 0
waves = {"presented": y_test[trial]}
waves.update({name: model.predict(X_test[trial : trial + 1])[0] for name, model in models.items()})
mels = {name: log_mel_spectrogram(w, data.audio_sfreq, data.factor) for name, w in waves.items()}
vmin, vmax = np.percentile(mels["presented"], [5, 100])

fig, axes = plt.subplots(len(mels), 1, figsize=(7, 9), sharex=True, layout="constrained")
for ax, (name, mel) in zip(axes, mels.items()):
    ax.imshow(
        mel,
        origin="lower",
        aspect="auto",
        vmin=vmin,
        vmax=vmax,
        extent=(0, mel.shape[1] / data.sfreq, 0, mel.shape[0]),
    )
    ax.set(title=name, ylabel="mel band")
axes[-1].set(xlabel="time (s)")
plt.show()

# %%
# Listen
# ------
# The presented music, then each model's reconstruction.


class Audio:
    """HTML audio players for named waveforms (what the gallery shows below a cell)."""

    def __init__(self, waves, sfreq):
        self.players = []
        for name, wave in waves.items():
            wave = wave / max(np.abs(wave).max(), 1e-9) * 0.9
            buffer = io.BytesIO()
            sf.write(buffer, wave, sfreq, format="WAV", subtype="PCM_16")
            src = "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()
            self.players.append(f'<p>{name}<br><audio controls src="{src}"></audio></p>')

    def _repr_html_(self):
        return "\n".join(self.players)


Audio(waves, data.audio_sfreq)
