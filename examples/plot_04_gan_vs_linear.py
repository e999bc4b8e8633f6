"""
The GAN against linear decoders, on a held-out subject
======================================================

:class:`~sk_eeg2music.EEG2MusicGAN` and the linear mel decoder
(:class:`~sk_eeg2music.LinearDecoder`) are trained on the listening trials of
two simulated subjects and tested on a third, beside the shuffled control. We
compare their scores, read the GAN's training history, and look at and listen
to the reconstructions.

The audio is simulated at 8 kHz, the GAN is the smallest one
(``preset="tiny"``) trained for two epochs on half-second crops, and the
decoder uses a fixed penalty, so that this page
builds in seconds on a CPU: it shows how to run and inspect the comparison, not
how well a trained GAN does (see :ref:`gan` for real settings and
:doc:`/benchmarks` for the numbers).
"""

# %%
# Data and split
# --------------
# Three subjects listening to two melodies; the test set is the third
# subject's trials (14 distinct pieces of music, so identification chance is
# 1/14).
import base64
import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn
import soundfile as sf
from sklearn.pipeline import make_pipeline

from sk_eeg2music import (
    ChannelScaler,
    Clip,
    EEG2MusicGAN,
    EuclideanAlignment,
    LinearDecoder,
    ShuffledPairs,
    make_simulated,
    metrics,
)
from sk_eeg2music.audio import log_mel_spectrogram

sklearn.set_config(enable_metadata_routing=True)  # subject ids reach EuclideanAlignment
data = make_simulated(
    kind="mos",
    n_subjects=3,
    conditions=["listening"],
    stimuli=["chor-096", "chor-038"],
    audio_sfreq=8000,
    random_state=0,
)
train = data.subject != "sub-03"
test = ~train
X_train, y_train, subjects_train = data.X[train], data.y[train], data.subject[train]
X_test, y_test = data.X[test], data.y[test]
print(f"{train.sum()} training trials; {test.sum()} test trials of a new subject")

# %%
# Three models, one preprocessing
# -------------------------------
# Each pipeline refits the preprocessing on the training subjects. The shuffled
# control is the mel decoder fitted on EEG paired with the wrong music.


def preprocessing():
    ea = EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
    return [ChannelScaler(robust=True), Clip(20.0), ea]


def decoder():
    # With a fixed penalty there is no inner CV, so the decoder needs no subject ids.
    mel = LinearDecoder(target="mel", sfreq=data.sfreq, alphas=[1.0], n_iter=8)
    return mel.set_fit_request(groups=False)


gan = EEG2MusicGAN(
    sfreq=data.sfreq,
    preset="tiny",
    max_epochs=2,
    warmup_epochs=1,
    crop_seconds=0.5,
    random_state=0,
    verbose=0,
)
models = {
    "GAN": make_pipeline(*preprocessing(), gan),
    "linear (mel)": make_pipeline(*preprocessing(), decoder()),
    "shuffled control": ShuffledPairs(make_pipeline(*preprocessing(), decoder())),
}
predictions = {}
for name, model in models.items():
    model.fit(X_train, y_train, groups=subjects_train)
    predictions[name] = model.predict(X_test)  # one subject: aligned as one domain

# %%
# Scores on the held-out subject
# ------------------------------
# Predictions are computed once and scored with the metric functions (the
# scorers of :func:`~sk_eeg2music.metrics.make_scorers` would predict once per
# metric).
scores = {
    "mel r": metrics.mel_correlation,
    "envelope r": metrics.envelope_correlation,
    "identification": metrics.identification_accuracy,
    "rank accuracy": metrics.rank_accuracy,
    "MCD (dB)": metrics.mel_cepstral_distortion,
}
table = pd.DataFrame(
    {
        name: {k: f(y_test, y_pred, sfreq=data.audio_sfreq) for k, f in scores.items()}
        for name, y_pred in predictions.items()
    }
).T
print(table.round(3).to_string())
print(f"identification chance: {metrics.identification_chance(y_test):.3f}")

# %%
# The GAN's training history
# --------------------------
# One row per epoch, one column per loss component (see :ref:`gan-history`).
# The first epoch is the reconstruction-only warm-up; the adversarial (``adv``,
# ``fm``) and discriminator (``d_*``) terms appear once the discriminator
# starts.
fitted_gan = models["GAN"][-1]
history = pd.DataFrame(fitted_gan.history.to_list()).set_index("epoch")
history = history.filter(like="train_").select_dtypes("number").drop(columns="train_batch_count")
print(history.round(3).to_string())

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
history.drop(columns="train_loss").plot(ax=ax, marker="o")
ax.axvline(fitted_gan.warmup_epochs + 0.5, color="k", ls="--", lw=0.8)
ax.set(xlabel="epoch", ylabel="loss component", title="GAN training history")
ax.set_xticks(history.index)
ax.legend(fontsize=7, ncols=2)
plt.show()

# %%
# Spectrograms of one test trial
# ------------------------------
trial = 0
waves = {"presented": y_test[trial], **{k: v[trial] for k, v in predictions.items()}}
mels = {k: log_mel_spectrogram(w, data.audio_sfreq, data.factor) for k, w in waves.items()}

fig, axes = plt.subplots(len(mels), 1, figsize=(7, 9), sharex=True, layout="constrained")
for ax, (name, mel) in zip(axes, mels.items()):
    extent = (0, mel.shape[1] / data.sfreq, 0, mel.shape[0])
    ax.imshow(mel, origin="lower", aspect="auto", extent=extent, vmin=mel.max() - 18)
    ax.set(title=name, ylabel="mel band")
axes[-1].set(xlabel="time (s)")
plt.show()

# %%
# Listen
# ------
# The presented music, then each model's reconstruction (peak-normalised).


class Audio:
    """HTML audio players for named waveforms (what the gallery shows below a cell)."""

    def __init__(self, waves, sfreq):
        self.players = []
        for name, wave in waves.items():
            wave = 0.9 * wave / max(np.abs(wave).max(), 1e-9)
            buffer = io.BytesIO()
            sf.write(buffer, wave, sfreq, format="WAV", subtype="PCM_16")
            src = "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()
            self.players.append(f'<p>{name}<br><audio controls src="{src}"></audio></p>')

    def _repr_html_(self):
        return "\n".join(self.players)


Audio(waves, data.audio_sfreq)
