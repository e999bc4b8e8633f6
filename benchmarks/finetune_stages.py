"""What the GAN's joint fine-tuning does to decoding and realism, epoch by epoch (issue 17).

Fits the registry's ``gan`` pipeline on one fold of ``GroupKFold`` over
simulated subjects with ``max_epochs=0`` (stages 1-3: decoder pre-training,
linear path, early-stopped encoder), scores the test trials, then runs
skorch's fine-tuning epochs one at a time (``partial_fit`` on the fold's
transformed training EEG, the same warm-up rule as the registry's) and scores
after each: feature r, feature r beyond the beat, feature identification and
match–mismatch (the decoded log-mel), waveform match–mismatch and Fréchet mel
distance beside its floor (the audio). ``--model`` picks another of the
registry's staged GANs (an ablation: ``gan-l1-encoder``, ``gan-recon-only``,
``gan-finetune-encoder``, ...); ``--finetune-encoder`` is
``--model gan-finetune-encoder`` (the default before 2026-12-07).
``--prior-weights`` then scores the fine-tuned model at other retrieval-prior
weights (prediction only, nothing refitted): how much of the waveform
scores and realism the prior gives, against the decoded log-mel alone
(``0``). The features never use the prior, so only the waveform columns move.

Writes a block between ``<!-- finetune-stages-<kind>[-<ablation>] -->``
markers in ``docs/benchmarks.md`` (``--no-doc``: print only).

Usage::

    python benchmarks/finetune_stages.py --kind mos --n-subjects 21 --n-repetitions 11 \\
        --fold 0 --epochs 2 [--model gan-l1-encoder]
"""

import argparse
import datetime
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import GroupKFold

import sk_eeg2music
from sk_eeg2music import make_simulated, metrics
from sk_eeg2music._routing import call_routed
from sk_eeg2music.benchmarking import (
    command_line,
    device_label,
    machine_label,
    markdown_table,
    write_block,
)
from sk_eeg2music.datasets.simulated import real_design
from sk_eeg2music.evaluation import beat_reference, score_trials
from sk_eeg2music.pipelines import MODELS, gan_warmup_epochs, make_models, predict_features

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"
#: Registry GANs trained in stages (a decoder pre-training for ``max_epochs=0`` to stop after).
STAGED_GANS = tuple(name for name in MODELS if name.startswith("gan") and name != "gan-end-to-end")
#: Per-trial scores averaged into the table.
TRIAL_COLUMNS = ("feature_r", "feature_r_beat", "feature_id_acc", "feature_mm_acc", "mm_acc")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=("mos", "nmedt"), default="mos")
    p.add_argument("--n-subjects", type=int, default=21)
    p.add_argument("--n-repetitions", type=int, default=2)
    p.add_argument("--stimulus-seconds", type=float, default=None, help="default: real design")
    p.add_argument("--segment-seconds", type=float, default=4.0)
    p.add_argument("--audio-sfreq", type=int, default=8000)
    p.add_argument("--conditions", nargs="+", default=None, help="default: the kind's")
    p.add_argument("--n-splits", type=int, default=5)
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--model", choices=STAGED_GANS, default="gan", help="registry name")
    p.add_argument("--finetune-encoder", action="store_true", help="--model gan-finetune-encoder")
    p.add_argument(
        "--prior-weights",
        nargs="*",
        type=float,
        default=[],
        help="retrieval-prior weights in [0, 1] to score the fine-tuned model at (its own: "
        "the last fine-tuning row)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--doc", type=Path, default=DOC)
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.finetune_encoder:
        if args.model not in ("gan", "gan-finetune-encoder"):
            p.error("--finetune-encoder is --model gan-finetune-encoder: give one of them")
        args.model = "gan-finetune-encoder"
    if any(not 0 <= w <= 1 for w in args.prior_weights):
        p.error(f"--prior-weights must lie in [0, 1]; got {args.prior_weights}")
    return args


def stage_scores(pipe, data, train, test):
    """Per-condition means of the test trials' scores, and the FMD with its floor.

    Returns
    -------
    rows : list of dict
        One per condition: :data:`TRIAL_COLUMNS`, ``fmd``, ``fmd_floor``.
    """
    meta = dict(groups=data.groups[test], condition=data.condition[test])
    feats = np.asarray(call_routed_features(pipe, data.X[test], meta), np.float32)
    y_pred = np.asarray(call_routed(pipe, "predict", data.X[test], **meta), np.float32)
    y = data.require_y()
    ref = beat_reference(
        y, data.audio_sfreq, data.stimulus, data.segment, *feats.shape[1:], index=train
    )
    rows = []
    for cond in np.unique(data.condition[test]):
        sel = data.condition[test] == cond
        y_true = y[test][sel]
        trial = score_trials(
            y_true,
            y_pred[sel],
            data.audio_sfreq,
            stimulus=data.stimulus[test][sel],
            segment=data.segment[test][sel],
            features=feats[sel],
            reference=ref,
        )
        row = {"condition": str(cond)}
        row.update({k: float(np.nanmean(trial[k])) for k in TRIAL_COLUMNS if k in trial})
        row["fmd"] = metrics.frechet_mel_distance(y_true, y_pred[sel], data.audio_sfreq)
        row["fmd_floor"] = metrics.frechet_mel_floor(y_true, data.audio_sfreq, random_state=0)
        rows.append(row)
    return rows


def call_routed_features(pipe, X, meta):
    """:func:`predict_features` with metadata routing on (the front end takes ``groups``)."""
    with sklearn.config_context(enable_metadata_routing=True):
        return predict_features(pipe, X, **meta)


def run(args, log):
    """Scores after stages 1-3 and after each fine-tuning epoch (a DataFrame)."""
    kwargs = dict(
        n_subjects=args.n_subjects,
        n_repetitions=args.n_repetitions,
        segment_seconds=args.segment_seconds,
        audio_sfreq=args.audio_sfreq,
    )
    if args.stimulus_seconds is not None:
        kwargs["stimulus_seconds"] = args.stimulus_seconds
    if args.conditions is not None:
        kwargs["conditions"] = tuple(args.conditions)
    data = make_simulated(**real_design(args.kind, **kwargs))
    splits = list(GroupKFold(args.n_splits).split(data.X, groups=data.groups))
    if not 0 <= args.fold < len(splits):
        raise ValueError(f"--fold must lie in [0, {len(splits) - 1}]; got {args.fold}.")
    train, test = splits[args.fold]
    pipe = make_models(
        data.sfreq,
        [args.model],
        epochs=args.epochs,
        seed=args.seed,
        gan_params=dict(preset=args.preset),
    )[args.model]
    gan = pipe[-1]
    warmup = gan.warmup_epochs
    gan.set_params(max_epochs=0)
    meta = dict(
        groups=data.groups[train],
        condition=data.condition[train],
        stimulus=data.stimulus[train],
        segment=data.segment[train],
    )
    t0 = time.perf_counter()
    call_routed(pipe, "fit", data.X[train], data.require_y()[train], **meta)
    log(f"stages 1-3 in {time.perf_counter() - t0:.0f} s")
    rows = [dict(stage="stages 1-3", **r) for r in stage_scores(pipe, data, train, test)]
    Xt = call_routed(pipe[:-1], "transform", data.X[train], groups=data.groups[train])
    gan.set_params(max_epochs=1, warmup_epochs=warmup)
    for epoch in range(1, args.epochs + 1):
        gan.partial_fit(Xt, data.require_y()[train], condition=data.condition[train])
        if not gan.lambda_adv:
            adversarial = "no adversarial loss"
        else:
            adversarial = "adversarial" if epoch > warmup else "warm-up, no adversarial"
        label = f"fine-tuning epoch {epoch} ({adversarial})"
        rows += [dict(stage=label, **r) for r in stage_scores(pipe, data, train, test)]
        log(f"{label} at {time.perf_counter() - t0:.0f} s")
    own = gan.prior_weight
    for weight in args.prior_weights:
        gan.set_params(prior_weight=weight)
        label = f"fine-tuned, prior_weight={weight:g} (own {own:g})"
        rows += [dict(stage=label, **r) for r in stage_scores(pipe, data, train, test)]
        log(f"{label} at {time.perf_counter() - t0:.0f} s")
    gan.set_params(prior_weight=own)
    table = pd.DataFrame(rows)
    return table, data, len(train), len(test)


def main(argv=None):
    args = parse_args(argv)
    log = (lambda *a: None) if args.quiet else print
    t0, load = time.perf_counter(), os.getloadavg()[0]
    table, data, n_train, n_test = run(args, log)
    wall = time.perf_counter() - t0
    shown = table.round(3)
    log(shown.to_string(index=False))
    if not args.no_doc:
        text = "\n".join(
            [
                f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
                f"sk_eeg2music {sk_eeg2music.__version__}, {device_label('cpu')}, "
                f"{machine_label()}, load average {load:.1f} at the start; wall time "
                f"{wall / 60:.1f} min.",
                "",
                f"```\n{command_line('benchmarks/finetune_stages.py', argv)}\n```",
                "",
                f"Simulated {args.kind.upper()}, {args.n_subjects} subjects × "
                f"{args.n_repetitions} repetition(s), {args.segment_seconds:g}-s segments, "
                f"{args.audio_sfreq} Hz audio, calibrated SNR; fold {args.fold} of "
                f"`GroupKFold({args.n_splits})` ({n_train} training and {n_test} test "
                f"segments); registry model `{args.model}` ({MODELS[args.model]}), GAN "
                f"preset `{args.preset}`, seed {args.seed}, warm-up "
                f"{gan_warmup_epochs(args.epochs)} epoch(s). One fold and one seed: a "
                "diagnosis of the stages, not a cross-validated result.",
                "",
                markdown_table(shown),
            ]
        )
        suffix = args.model[len("gan") :]
        write_block(args.doc, f"finetune-stages-{args.kind}{suffix}", text)
    return table


if __name__ == "__main__":
    main()
