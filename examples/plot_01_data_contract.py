"""
The data contract: EEG trials paired with music
===============================================

Every loader and the simulator return an :class:`~sk_eeg2music.EEGMusicData`:
EEG ``X`` of shape ``(n_trials, n_channels, n_times)`` in volts, the music
``y`` of shape ``(n_trials, n_audio)`` heard or imagined during each trial, and
one label per trial (subject, stimulus, condition, segment). This example
simulates the Music of Silence (MOS) design and looks at one trial.
"""

# %%
# Simulate two subjects
# ---------------------
# The simulator drives auditory-cortex dipoles of an MNE forward model with
# the envelope, onsets and band energies of synthesised chorale melodies.
import matplotlib.pyplot as plt
import numpy as np

from sk_eeg2music import make_simulated
from sk_eeg2music.audio import frame_envelope, log_mel_spectrogram

data = make_simulated(kind="mos", n_subjects=2, segment_seconds=4.0, random_state=0)
print(data)

# %%
# Shapes and rates
# ----------------
# ``n_audio == n_times * audio_sfreq / sfreq`` exactly: one EEG sample spans
# ``data.factor`` audio samples, so a model that upsamples EEG by that factor
# produces a waveform aligned sample for sample with the music.
print("X", data.X.shape, data.X.dtype, "volts at", data.sfreq, "Hz")
print("y", data.y.shape, data.y.dtype, "at", data.audio_sfreq, "Hz")
print("audio samples per EEG sample:", data.factor)
print("subjects:", np.unique(data.subject), "conditions:", np.unique(data.condition))
print("first trials:", list(zip(data.stimulus[:3], data.condition[:3], data.segment[:3])))

# %%
# The same music appears once per subject and condition: ``segment_id`` names
# each distinct piece of music, which is what an honest "unseen music" split
# must hold out (see :ref:`evaluation`).
print(len(np.unique(data.segment_id)), "distinct music segments in", len(data), "trials")

# %%
# One listening trial
# -------------------
# The EEG at the temporal electrodes, the waveform, its log-mel spectrogram
# and its envelope at the EEG rate.
trial = np.flatnonzero(data.condition == "listening")[0]
t_eeg = np.arange(data.X.shape[2]) / data.sfreq
t_audio = np.arange(data.y.shape[1]) / data.audio_sfreq
picks = [data.ch_names.index(ch) for ch in ("T7", "T8", "Cz")]
mel = log_mel_spectrogram(data.y[trial], data.audio_sfreq, data.factor)
env = frame_envelope(data.y[trial], data.factor)

fig, axes = plt.subplots(4, 1, figsize=(8, 7), sharex=True, layout="constrained")
for offset, pick in enumerate(picks):
    axes[0].plot(t_eeg, data.X[trial, pick] * 1e6 + 20 * offset, lw=0.8, label=data.ch_names[pick])
axes[0].set(ylabel="EEG (µV, offset)", title=f"{data.subject[trial]}, {data.stimulus[trial]}")
axes[0].legend(loc="upper right", fontsize=8)
axes[1].plot(t_audio, data.y[trial], lw=0.3, color="k")
axes[1].set(ylabel="music")
axes[2].imshow(mel, origin="lower", aspect="auto", extent=(0, t_eeg[-1], 0, mel.shape[0]))
axes[2].set(ylabel="mel band")
axes[3].plot(t_eeg, env, color="C3")
axes[3].set(ylabel="envelope", xlabel="time (s)")
plt.show()

# %%
# Labels as MNE metadata
# ----------------------
# :meth:`~sk_eeg2music.EEGMusicData.to_epochs` hands the EEG to MNE with the
# labels as ``epochs.metadata``, e.g. for plotting or for MNE's own decoders.
epochs = data.to_epochs()
print(epochs)
print(epochs.metadata.head())
