"""
Loading a dataset folder (MOS, NMED-T) and MNE epochs
=====================================================

:func:`~sk_eeg2music.load_mos` and :func:`~sk_eeg2music.load_nmedt` read the
published files as they are distributed (see :doc:`/datasets`), and
:func:`~sk_eeg2music.from_mne` pairs your own MNE recording with the stimulus
audio. All three return the same :class:`~sk_eeg2music.EEGMusicData`.

The real downloads are 1.6 GB (MOS) and 7 GB (NMED-T), so this example first
writes *simulated* EEG and music to a temporary folder in the published
layouts — same file names, variables, shapes, units and nesting, only fewer
subjects — then loads it back and checks that the loaders return what was
written. Point the loaders at your download instead.
"""

# %%
# Simulated recordings to write out
# ---------------------------------
# Whole stimuli (no segmentation): MOS trials are 1803 samples at 64 Hz, as in
# the published files.
import tempfile
from pathlib import Path

import mne
import numpy as np
import soundfile as sf
from scipy.io import savemat
from scipy.signal import resample_poly

from sk_eeg2music import from_mne, load_mos, load_nmedt, make_simulated

root = Path(tempfile.mkdtemp())
mos_sim = make_simulated(kind="mos", n_subjects=2, segment_seconds=None, random_state=0)
print(mos_sim)

# %%
# MOS in its CND packaging
# ------------------------
# ``dataCND/dataStim.mat`` holds a ``stim`` struct (melody and condition index
# of each stored trial, and the stimulus envelope at 64 Hz);
# ``dataCND/dataSubN.mat`` holds an ``eeg`` struct whose ``data`` cell has one
# 1803 × 64 (time × channels) array per trial, in µV. Stored trials are the
# listening trials of melodies 1–4, then the imagery trials. The melody of
# ``stimIdx`` 1–4 is not stored in the files; the published order is below.
chorales = ["chor-096", "chor-038", "chor-101", "chor-019"]  # stimIdx 1, 2, 3, 4
stim_idx = np.tile(np.arange(1, 5), 2)  # one trial per melody and condition (11 in MOS)
cond_idx = np.repeat([1, 2], 4)  # 1 listening, 2 imagery
conditions = {1: "listening", 2: "imagery"}


def cell(arrays):
    """A 1 x n MATLAB cell array."""
    out = np.empty((1, len(arrays)), dtype=object)
    out[0, :] = arrays
    return out


def trial_of(data, subject, chorale, condition):
    return np.flatnonzero(
        (data.subject == subject) & (data.stimulus == chorale) & (data.condition == condition)
    )[0]


cnd = root / "datasetCND_musicImagery" / "dataCND"
cnd.mkdir(parents=True)
melody = {c: mos_sim.y[trial_of(mos_sim, "sub-01", c, "listening")] for c in chorales}
envelopes = [
    np.sqrt(np.mean(melody[chorales[k - 1]].reshape(-1, mos_sim.factor) ** 2, axis=1))[:, None]
    for k in stim_idx
]
stim_data = np.empty((2, len(stim_idx)), dtype=object)
stim_data[0, :], stim_data[1, :] = envelopes, [np.zeros_like(e) for e in envelopes]
stim = dict(
    stimIdxs=stim_idx[None].astype(float),
    condIdxs=cond_idx[None].astype(float),
    condNames=cell(["Listening", "Imagery"]),
    names=cell(["Acoustic Envelope", "Expectation Vector"]),
    data=stim_data,
    fs=64.0,
)
savemat(cnd / "dataStim.mat", {"stim": stim})

chanlocs = np.empty((1, 64), dtype=[("labels", object)])
chanlocs["labels"][0] = mos_sim.ch_names
for n, subject in enumerate(["sub-01", "sub-02"], start=1):
    trials = [
        mos_sim.X[trial_of(mos_sim, subject, chorales[k - 1], conditions[c])].T * 1e6
        for k, c in zip(stim_idx, cond_idx)
    ]
    eeg = dict(data=cell(trials), fs=64.0, chanlocs=chanlocs, origTrialPosition=stim_idx[None])
    savemat(cnd / f"dataSub{n}.mat", {"eeg": eeg})

# %%
# The stimuli are 44.1 kHz stereo WAVs: a metronome on the left channel (100
# BPM) and the melody on the right; EEG sample 0 is the 7th metronome click
# (4.8 s into the file here), which the loader finds by itself.
audio_dir = root / "datasetCND_musicImagery" / "stimuli" / "audio"
audio_dir.mkdir(parents=True)
wav_sfreq, lead_in = 44100, 4.8
for chorale in chorales:
    tune = resample_poly(melody[chorale], 441, 160)  # 16 kHz -> 44.1 kHz
    n_lead = int(round(lead_in * wav_sfreq))
    metronome = np.zeros(n_lead + len(tune))
    for click in np.arange(1.2, len(metronome) / wav_sfreq, 0.6):  # 7th click at 4.8 s
        start = int(round(click * wav_sfreq))
        metronome[start : start + 88] = 0.8
    right = np.concatenate([np.zeros(n_lead), tune])
    sf.write(audio_dir / f"{chorale}.wav", np.c_[metronome, right], wav_sfreq, "PCM_16")

for path in sorted(root.rglob("*.*")):
    print(path.relative_to(root), f"{path.stat().st_size / 1e6:.1f} MB")

# %%
# Load it back
# ------------
# The packaging (CND or Dryad) is detected from the folder; the melody labels
# are checked against the audio, the audio is aligned with the EEG and
# resampled to ``audio_sfreq``, and the stored µV become volts.
mos = load_mos(root, segment_seconds=4.0)
print(mos)

whole = load_mos(root)  # whole trials, to compare with what was written
for i in range(len(whole)):
    j = trial_of(mos_sim, whole.subject[i], whole.stimulus[i], whole.condition[i])
    assert np.allclose(whole.X[i], mos_sim.X[j], rtol=1e-4, atol=1e-12)
r = [np.corrcoef(whole.y[i], melody[whole.stimulus[i]])[0, 1] for i in range(len(whole))]
print(f"EEG identical; audio correlation with the written melodies: min r = {min(r):.4f}")

# %%
# NMED-T
# ------
# One ``songNN_Imputed.mat`` per song holds ``dataNN`` (125 electrodes × time
# × participants, µV) at ``fs`` = 125 Hz and the participant ids in ``subsNN``.
# NMED-T does not distribute its audio: the loader takes ``audio_dir`` with
# your own copies, named ``song21.wav``, ``song22.wav``, ...
nmedt_sim = make_simulated(
    kind="nmedt", n_subjects=2, segment_seconds=None, stimuli=["song21", "song22"]
)
nmedt_dir, song_dir = root / "NMED-T", root / "my_songs"
nmedt_dir.mkdir()
song_dir.mkdir()
subjects = ["S02", "S03"]
for song in ("song21", "song22"):
    number = song[-2:]
    trials = [trial_of(nmedt_sim, s, song, "listening") for s in ("sub-01", "sub-02")]
    data = np.stack([nmedt_sim.X[i] * 1e6 for i in trials], axis=-1).astype(np.float64)
    savemat(
        nmedt_dir / f"song{number}_Imputed.mat",
        {f"data{number}": data, f"subs{number}": cell(subjects), "fs": 125.0},
    )
    sf.write(song_dir / f"{song}.wav", resample_poly(nmedt_sim.y[trials[0]], 441, 160), wav_sfreq)

songs = load_nmedt(nmedt_dir, audio_dir=song_dir, songs=[21, 22], segment_seconds=10.0)
print(songs)
print("subjects:", np.unique(songs.subject), "stimuli:", np.unique(songs.stimulus))

# %%
# Your own recording, through MNE
# -------------------------------
# Epochs whose time 0 is the audio onset, with the stimulus of each epoch as
# its event name, plus the audio of each stimulus (a file, or a
# ``(waveform, sfreq)`` tuple). A continuous :class:`mne.io.Raw` with onset
# events works too.
one = mos_sim.select(subject="sub-01", condition="listening")
event_id = {chorale: k + 1 for k, chorale in enumerate(chorales)}
events = np.c_[
    np.arange(len(one)) * 2000, np.zeros(len(one), int), [event_id[s] for s in one.stimulus]
]
epochs = mne.EpochsArray(one.X, one.info, events=events, event_id=event_id, verbose="error")
audio = {chorale: (melody[chorale], mos_sim.audio_sfreq) for chorale in chorales}
mine = from_mne(epochs, audio, audio_sfreq=16000, subject="sub-01", segment_seconds=4.0)
print(mine)
