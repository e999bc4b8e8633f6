"""
Seen or unseen subjects and music, and the shuffled control
===========================================================

One decoder, three splits, and a control for each. A linear envelope decoder
(:class:`~sk_eeg2music.LinearDecoder`) is evaluated on the listening trials of
simulated MOS data under the three protocols of :ref:`evaluation`:

- **unseen music** — :class:`~sklearn.model_selection.GroupKFold` over
  ``segment_id``: the test music was never heard in training, the test subjects
  were;
- **unseen subject** — :class:`~sklearn.model_selection.LeaveOneGroupOut` over
  subjects: a new head, but its music was in training (heard by the others);
- **unseen subject and music** —
  :class:`~sk_eeg2music.model_selection.SubjectTimeSplit`: neither was seen.

Each is run beside :class:`~sk_eeg2music.model_selection.ShuffledPairs` (the
same pipeline fitted on EEG paired with the wrong music) on the same folds.
"""

# %%
# Data and model
# --------------
# The pipeline scales the channels (statistics of the training trials) and
# decodes the envelope from the EEG 0–250 ms after it. The ridge penalty is
# fixed here (at the mean eigenvalue of the lagged EEG) to keep this page fast;
# by default the decoder chooses it by an inner cross-validation on each
# training fold. (Per-subject Euclidean Alignment, left out here, is shown in
# :doc:`plot_02_quickstart`.)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline

from sk_eeg2music import (
    ChannelScaler,
    LinearDecoder,
    ShuffledPairs,
    SubjectTimeSplit,
    make_simulated,
)
from sk_eeg2music.metrics import make_scorers

data = make_simulated(
    kind="mos",
    n_subjects=3,
    conditions=["listening"],
    audio_sfreq=8000,
    random_state=0,
)
print(data)

model = make_pipeline(
    ChannelScaler(),
    LinearDecoder(target="envelope", tmin=0.0, tmax=0.25, sfreq=data.sfreq, alphas=[1.0]),
)
scoring = {"r": make_scorers(data.audio_sfreq)["envelope_r"]}

# %%
# The three splits
# ----------------
# Check what each one holds out before using it.
protocols = {
    "unseen music": (GroupKFold(n_splits=2), dict(groups=data.segment_id)),
    "unseen subject": (LeaveOneGroupOut(), dict(groups=data.subject)),
    "unseen subject\nand music": (
        SubjectTimeSplit(n_splits=3, random_state=0),
        dict(groups=data.subject, segment=data.segment),
    ),
}
folds = {}
for name, (cv, labels) in protocols.items():
    folds[name] = list(cv.split(data.X, data.y, **labels))
    train, test = folds[name][0]
    shared_subjects = set(data.subject[train]) & set(data.subject[test])
    shared_music = set(data.segment_id[train]) & set(data.segment_id[test])
    print(
        f"{name!r}: {len(folds[name])} folds; fold 0 trains on {len(train)} trials, "
        f"tests {len(test)}; subjects in both: {len(shared_subjects)}, "
        f"music in both: {len(shared_music)}"
    )

# %%
# Evaluate
# --------
# The decoder and its shuffled control on exactly the same folds.
rows = []
for protocol, cv in folds.items():
    for label, estimator in (("decoder", model), ("shuffled control", ShuffledPairs(model))):
        scores = cross_validate(estimator, data.X, data.y, cv=cv, scoring=scoring)
        rows += [dict(protocol=protocol, model=label, r=r) for r in scores["test_r"]]
results = pd.DataFrame(rows)
print(results.groupby(["protocol", "model"], sort=False)["r"].agg(["mean", "std"]).round(3))

# %%
# Each dot is a fold; bars are means. The decoder decodes only by as much as it
# beats its control on the same folds.
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
for offset, (label, color) in zip((-0.15, 0.15), (("decoder", "C0"), ("shuffled control", "0.5"))):
    for i, protocol in enumerate(folds):
        r = results["r"][(results["protocol"] == protocol) & (results["model"] == label)]
        ax.scatter(np.full(len(r), i + offset), r, color=color, s=16, alpha=0.7)
        ax.hlines(r.mean(), i + offset - 0.1, i + offset + 0.1, color=color, lw=2.5)
    ax.plot([], [], "o", color=color, label=label)
ax.axhline(0, color="k", lw=0.5)
ax.set(xticks=range(len(folds)), xticklabels=list(folds), ylabel="envelope correlation (r)")
ax.legend(loc="upper right", fontsize=8)
plt.show()

# %%
# What the protocols mean
# -----------------------
# The splits differ in what a good score *means*, not necessarily in its size:
# an envelope decoder has little music to memorise, so its scores move little
# between them. A generative model is different: under the "unseen subject"
# split it can score by reproducing the training music of the right segment
# (see :doc:`plot_04_gan_vs_linear`), which only the last split rules out.
# Numbers on this page come from three simulated subjects, 8 kHz audio and a
# fixed penalty; see :doc:`/benchmarks` for full-size runs.
