"""Command line: ``python -m sk_eeg2music <command>`` (also ``eeg2music <command>``).

Commands: ``demo`` (simulate, evaluate, write a report), ``evaluate``
(cross-validate, write a metrics table), ``fit`` (fit a pipeline, write a model
file) and ``reconstruct`` (model + EEG -> WAV files).

Every command checks ``--out`` before doing any work and writes atomically: a
folder through :func:`sk_eeg2music.report.atomic_output_dir`, a model file
through :func:`sk_eeg2music.save_model` (temporary file + rename). A bad
``--out`` fails at once with exit status 2 and a failed run leaves nothing
half-written.
"""

import argparse
import contextlib
import os
import re
import sys
import textwrap
import time
import warnings
from pathlib import Path

from .report import OutputDirError, check_output_dir

#: Exit status for unusable arguments (the same as argparse's).
EXIT_USAGE = 2
#: Exit status when the work itself fails (e.g. the disk fills up while writing).
EXIT_FAILURE = 1


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _demo(args):
    from .demo import run_demo

    out = check_output_dir(args.out)
    t0 = time.perf_counter()
    report, summary = run_demo(
        out,
        kind=args.kind,
        n_subjects=args.n_subjects,
        segment_seconds=args.segment_seconds,
        audio_sfreq=args.audio_sfreq,
        n_folds=None if args.full else args.folds,
        epochs=args.epochs,
        seed=args.seed,
        n_jobs=args.n_jobs,
        snr_db=args.snr_db,
    )
    _print_summary(summary)
    print(f"wall time: {time.perf_counter() - t0:.0f} s")
    print(f"report: {report}")
    return 0


def _print_summary(summary):
    cols = ["mel_r", "envelope_r", "id_acc", "id_chance", "song_acc", "song_chance"]
    cols = [c for c in cols if c in summary.columns]
    print(f"{'model':<36} {'split':<22} {'condition':<10} " + " ".join(f"{c:>11}" for c in cols))
    for _, row in summary.iterrows():
        vals = " ".join(f"{row[c]:>11.3f}" for c in cols)
        print(f"{row['model']:<36} {row['split']:<22} {row['condition']:<10} {vals}")


def _evaluate(args):
    import pandas as pd
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    from . import ShuffledPairs, SubjectTimeSplit
    from .evaluation import cross_validate_reconstruction, summarize
    from .pipelines import make_gan_pipeline, make_linear_pipeline
    from .report import atomic_output_dir

    out = check_output_dir(args.out)
    data = _load_dataset(args)
    splits = {
        "loso": LeaveOneGroupOut(),
        "group-kfold": GroupKFold(n_splits=min(5, len(set(data.subject)))),
        "subject-time": SubjectTimeSplit(n_splits=args.n_splits, random_state=args.seed),
    }
    gan = dict(max_epochs=args.epochs, random_state=args.seed, verbose=0)
    models = {
        "gan": lambda: make_gan_pipeline(data.sfreq, **gan),
        "gan-recon-only": lambda: make_gan_pipeline(data.sfreq, lambda_adv=0.0, **gan),
        "linear-mel": lambda: make_linear_pipeline(data.sfreq, target="mel"),
        "linear-envelope": lambda: make_linear_pipeline(data.sfreq, target="envelope"),
        "shuffled-gan": lambda: ShuffledPairs(
            make_gan_pipeline(data.sfreq, **gan), random_state=args.seed
        ),
    }
    scores = []
    for name in args.models:
        _log(f"evaluating {name} under {args.split} ...")
        scores.append(
            cross_validate_reconstruction(
                models[name](),
                data,
                splits[args.split],
                model=name,
                split=args.split,
                max_folds=args.max_folds,
            )
        )
    scores = pd.concat(scores, ignore_index=True)
    summary = summarize(scores)
    with atomic_output_dir(out) as tmp:
        scores.to_csv(tmp / "folds.csv", index=False)
        summary.to_csv(tmp / "metrics.csv", index=False)
        summary.to_json(tmp / "metrics.json", orient="records", indent=1)
    _print_summary(summary)
    print(f"metrics: {out / 'metrics.csv'}")
    return 0


def _load_dataset(args, *, need_audio=False):
    """The dataset named by ``--dataset`` and friends, narrowed to the selection."""
    from . import load_mos, load_nmedt, make_simulated
    from .datasets._common import id_number

    subjects = getattr(args, "subjects", None)
    stimuli = getattr(args, "stimuli", None)
    conditions = getattr(args, "conditions", None)
    audio_sfreq = getattr(args, "audio_sfreq", 16000)
    args.dataset = args.dataset or "simulated"
    if args.dataset != "simulated" and args.data_dir is None:
        raise ValueError(
            f"--data-dir (or --path) is required for --dataset {args.dataset}: the folder "
            "holding the downloaded files (see the datasets page of the documentation)."
        )
    _log(f"loading {args.dataset} data ...")
    if args.dataset == "simulated":
        subject_ids = None
        n_subjects = args.n_subjects
        if subjects:
            numbers = [id_number(s) for s in subjects]
            if any(n is None or n < 1 for n in numbers):
                raise ValueError(
                    f"--subjects {' '.join(subjects)}: simulated subjects are sub-01, sub-02, "
                    "...; pass their ids or numbers."
                )
            # Subject i is the same whatever n_subjects, so simulate up to the largest asked.
            n_subjects = max(numbers)
            subject_ids = [f"sub-{n:02d}" for n in numbers]
        data = make_simulated(
            kind=args.kind,
            n_subjects=n_subjects,
            segment_seconds=args.segment_seconds,
            audio_sfreq=audio_sfreq,
            random_state=args.seed,
            snr_db=getattr(args, "snr_db", None),
            stimulus_seconds=getattr(args, "stimulus_seconds", None),
            # Only what is selected is simulated (the rest would be identical if added).
            stimuli=stimuli,
            conditions=conditions,
        )
        if subject_ids is not None:
            data = data.select(subject=subject_ids)
    elif args.dataset == "nmedt":
        data = load_nmedt(
            args.data_dir,
            audio_dir=args.audio_dir,
            subjects=subjects,
            segment_seconds=args.segment_seconds,
            audio_sfreq=audio_sfreq,
        )
    else:
        data = load_mos(
            args.data_dir,
            subjects=subjects,
            segment_seconds=args.segment_seconds,
            audio_sfreq=audio_sfreq,
        )
    criteria = {k: v for k, v in (("stimulus", stimuli), ("condition", conditions)) if v}
    if criteria:
        selected = data.select(**criteria)
        if not len(selected):
            raise ValueError(
                f"the selection {criteria} matches no trial; the data has stimuli "
                f"{sorted(set(data.stimulus))} and conditions {sorted(set(data.condition))}."
            )
        data = selected
    if need_audio:
        data.require_y()
    return data


def _routed(estimator, method, arrays, groups):
    """``estimator.<method>(*arrays)`` with ``groups`` routed to the steps that request them."""
    import sklearn

    from .evaluation import _requests

    with sklearn.config_context(enable_metadata_routing=True):
        kwargs = {"groups": groups} if _requests(estimator, method) else {}
        return getattr(estimator, method)(*arrays, **kwargs)


def _make_model(args, sfreq):
    from .pipelines import make_gan_pipeline, make_linear_pipeline

    if args.model.startswith("linear-"):
        return make_linear_pipeline(sfreq, target=args.model.removeprefix("linear-"))
    gan = dict(
        preset=args.preset,
        max_epochs=args.epochs,
        device=args.device,
        random_state=args.seed,
        verbose=1,
    )
    if args.model == "gan-recon-only":
        gan["lambda_adv"] = 0.0
    return make_gan_pipeline(sfreq, **gan)


def check_model_path(path, overwrite=False):
    """Check that a model file can be written at ``path``, before any work is done.

    Nothing is created here; missing parent folders are created only once the
    model is fitted.

    Parameters
    ----------
    path : str | Path
        Destination model file.
    overwrite : bool, default=False
        Whether an existing file may be replaced.

    Returns
    -------
    path : Path
        The absolute path.

    Raises
    ------
    OutputDirError
        With a message that says what is wrong and what to do.
    """
    out = Path(path).expanduser().resolve()
    if out.is_dir():
        raise OutputDirError(
            f"{out} is a folder; --out takes the model file to write, e.g. "
            f"{out / 'model.safetensors'}."
        )
    if out.exists() and not overwrite:
        raise OutputDirError(f"{out} exists; pass --overwrite to replace it, or pick a new name.")
    existing = next(p for p in out.parents if p.exists())
    if not existing.is_dir():
        raise OutputDirError(
            f"cannot write {out}: {existing} is a file, not a folder. Pick another path."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"cannot write to {existing} (permission denied). Pick a path you can write to."
        )
    return out


def _fit(args):
    from .persistence import save_model

    out = check_model_path(args.out, overwrite=args.overwrite)
    _check_cuda(args.device)
    t0 = time.perf_counter()
    data = _load_dataset(args, need_audio=True)
    subjects = sorted(set(data.subject))
    pipe = _make_model(args, data.sfreq)
    _log(
        f"fitting {args.model} on {len(data)} trials of {len(subjects)} subjects "
        f"({data.X.shape[1]} channels at {data.sfreq:g} Hz, audio at {data.audio_sfreq} Hz) ..."
    )
    # skorch prints its epoch table on stdout; stdout is kept for the result.
    with contextlib.redirect_stdout(sys.stderr):
        _routed(pipe, "fit", (data.X, data.y), data.groups)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(pipe, out, info=data.info)
    print(
        f"model: {out}  trials: {len(data)}  subjects: {','.join(subjects)}  "
        f"wall time: {time.perf_counter() - t0:.1f} s"
    )
    return 0


def _read_eeg_file(path, sfreq, meta, subject):
    """EEG trials of ``--eeg``: ``(X, labels, sfreq, ch_names)`` (``ch_names`` None for .npy)."""
    import numpy as np
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--eeg {path}: no such file.")
    name = path.name.lower()
    if name.endswith(".npy"):
        if sfreq is None:
            raise ValueError(
                f"--eeg {path}: a .npy array carries no sampling rate; pass --sfreq (Hz)."
            )
        try:
            X = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"--eeg {path} is not a plain numeric .npy array ({exc}).") from None
        if X.ndim != 3 or not np.issubdtype(X.dtype, np.number):
            raise ValueError(
                f"--eeg {path} must hold EEG of shape (n_trials, n_channels, n_times) in volts; "
                f"got shape {X.shape}, dtype {X.dtype}."
            )
        labels = pd.DataFrame(
            {
                "subject": subject or "unknown",
                "stimulus": path.stem,
                "condition": "",
                "segment": np.arange(len(X)),
            }
        )
        return X.astype(np.float32), labels, sfreq, None
    if not name.endswith((".fif", ".fif.gz")):
        raise ValueError(
            f"--eeg {path}: expected an MNE Epochs file (*-epo.fif) or a .npy array of shape "
            "(n_trials, n_channels, n_times) with --sfreq."
        )
    import mne

    try:
        epochs = mne.read_epochs(path, preload=True, verbose="error")
    except (ValueError, OSError, RuntimeError) as exc:
        raise ValueError(
            f"--eeg {path} is not a readable MNE Epochs file ({exc}). A continuous recording "
            "must be cut into epochs first (mne.Epochs(raw, events, ...).save(...))."
        ) from None
    if sfreq is not None and not np.isclose(sfreq, epochs.info["sfreq"]):
        raise ValueError(
            f"--sfreq {sfreq:g} differs from the rate stored in {path} "
            f"({epochs.info['sfreq']:g} Hz); leave --sfreq out for .fif files."
        )
    expected = meta.get("ch_names")
    if expected and set(expected) <= set(epochs.ch_names):
        epochs.pick(expected).reorder_channels(expected)
    else:
        epochs.pick("eeg", exclude="bads")
    codes = {code: event for event, code in epochs.event_id.items()}
    stimulus, condition = [], []
    for code in epochs.events[:, 2]:
        tags = str(codes.get(code, code)).split("/")
        conds = [t for t in tags if t.lower() in ("listening", "imagery")]
        condition.append(conds[0].lower() if conds else "")
        stimulus.append("/".join(t for t in tags if t not in conds) or str(code))
    his_id = (epochs.info.get("subject_info") or {}).get("his_id")
    labels = pd.DataFrame(
        {
            "subject": subject or his_id or "unknown",
            "stimulus": stimulus,
            "condition": condition,
            "segment": np.arange(len(epochs)),
        }
    )
    return epochs.get_data().astype(np.float32), labels, epochs.info["sfreq"], epochs.ch_names


def _safe(text):
    return re.sub(r"[^A-Za-z0-9.-]+", "-", str(text)).strip("-") or "x"


def _reconstruct(args):
    import numpy as np
    import pandas as pd

    from .persistence import check_channels, load_model, model_info
    from .report import atomic_output_dir, write_wav

    out = check_output_dir(args.out)
    if not Path(args.model).is_file():
        raise ValueError(f"--model {args.model}: no such file.")
    meta = model_info(args.model)  # refuses files of another package version
    t0 = time.perf_counter()
    if args.eeg is not None and args.dataset is not None:
        raise ValueError("pass either --eeg or --dataset, not both.")
    if args.eeg is not None:
        X, labels, sfreq, ch_names = _read_eeg_file(args.eeg, args.sfreq, meta, args.subject)
    else:
        data = _load_dataset(args)
        X, sfreq, ch_names = data.X, data.sfreq, data.ch_names
        labels = pd.DataFrame(
            {k: getattr(data, k) for k in ("subject", "stimulus", "condition", "segment")}
        )
    if meta.get("sfreq") is not None and not np.isclose(sfreq, meta["sfreq"]):
        raise ValueError(
            f"the EEG is sampled at {sfreq:g} Hz but the model expects {meta['sfreq']:g} Hz; "
            "resample it first (e.g. epochs.resample(...)) or use a model fitted at this rate."
        )
    if ch_names is not None:  # names known: the error names missing and extra channels
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # count-only check: fine here
            check_channels(meta, ch_names)
    elif meta.get("n_channels") not in (None, X.shape[1]):
        raise ValueError(
            f"the EEG has {X.shape[1]} channels but the model was fitted on "
            f"{meta['n_channels']}; pick the training channels, in training order, first."
        )
    elif meta.get("ch_names"):
        _log("--eeg .npy: rows are taken to be the training channels in training order.")
    _check_cuda(args.device)
    model = load_model(args.model, device=args.device)
    audio_sfreq = meta.get("audio_sfreq")
    if audio_sfreq is None:
        raise ValueError(f"{args.model} stores no audio rate; it is not a reconstruction model.")
    _log(f"reconstructing {len(X)} trials with {meta['estimator']} ...")
    with contextlib.redirect_stdout(sys.stderr):
        y_pred = np.asarray(_routed(model, "predict", (X,), labels["subject"].to_numpy()))
    if y_pred.shape[0] != len(X) or y_pred.ndim != 2:
        raise ValueError(
            f"the model returned shape {y_pred.shape}, not waveforms (n_trials, n_audio); "
            "reconstruct needs a model that predicts audio."
        )
    files = [
        f"{i:04d}_{_safe(r.subject)}_{_safe(r.stimulus)}_{_safe(r.condition or 'na')}"
        f"_seg{int(r.segment):02d}.wav"
        for i, r in enumerate(labels.itertuples())
    ]
    with atomic_output_dir(out) as tmp:
        for name, wave in zip(files, y_pred, strict=True):
            write_wav(tmp / name, wave, int(audio_sfreq))
        labels.insert(0, "file", files)
        labels.to_csv(tmp / "index.csv", index=False)
    print(
        f"wrote {len(files)} WAV files ({y_pred.shape[1] / audio_sfreq:g} s at "
        f"{int(audio_sfreq)} Hz) to {out}  index: {out / 'index.csv'}  "
        f"wall time: {time.perf_counter() - t0:.1f} s"
    )
    return 0


def _wrap(text):
    """Fill a description to 79 columns (RawDescriptionHelpFormatter keeps it as is)."""
    return textwrap.fill(text, width=79)


def _device(text):
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"must be cpu, cuda or cuda:N; got {text!r}")
    return text


def _check_cuda(device):
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                f"--device {device}: this PyTorch build sees no CUDA GPU. Use --device cpu, "
                "or install a CUDA build of PyTorch."
            )


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text}")
    return value


def build_parser():
    """The argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="python -m sk_eeg2music",
        description="Reconstruct perceived and imagined music from EEG.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="simulate data, fit, evaluate and write a report",
        description=_wrap(
            "Simulate EEG and music, evaluate on held-out data and write DIR/report.html "
            "with audio players, spectrograms and a metrics table (plus WAV files, metrics.csv "
            "and metrics.json)."
        ),
        epilog="examples:\n"
        "  python -m sk_eeg2music demo --out demo_output\n"
        "  eeg2music demo --out nmedt_report --kind nmedt --n-subjects 2\n"
        "  eeg2music demo --out quick --audio-sfreq 8000 --segment-seconds 2\n"
        "  eeg2music demo --out clearer --snr-db -15   # EEG with more signal",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--out",
        default="demo_output",
        help="output folder: new, empty, or a previous report (replaced) (default: %(default)s)",
    )
    demo.add_argument(
        "--kind", choices=["mos", "nmedt"], default="mos", help="simulated dataset (default: mos)"
    )
    demo.add_argument("--n-subjects", type=_positive_int, default=4, help="(default: 4)")
    demo.add_argument("--segment-seconds", type=_positive_float, default=4.0, help="(default: 4.0)")
    demo.add_argument(
        "--audio-sfreq",
        type=_positive_int,
        default=16000,
        help="audio rate (Hz), a multiple of the EEG rate (default: 16000)",
    )
    demo.add_argument("--seed", type=int, default=0, help="(default: 0)")
    demo.add_argument(
        "--folds", type=_positive_int, default=2, help="held-out subjects to run (default: 2)"
    )
    demo.add_argument("--full", action="store_true", help="run every leave-one-subject-out fold")
    demo.add_argument(
        "--epochs", type=_positive_int, default=5, help="GAN epochs per fold (default: 5)"
    )
    demo.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=None,
        help="folds fitted in parallel (default: one per fold, at most one per CPU core)",
    )
    demo.add_argument(
        "--snr-db",
        type=float,
        default=None,
        help="EEG signal-to-noise ratio in dB (default: the simulator's calibrated, realistic "
        "one, at which cross-subject scores sit near chance; -15 gives the models more to decode)",
    )
    demo.set_defaults(func=_demo)

    ev = sub.add_parser(
        "evaluate",
        help="cross-validate pipelines and write a metrics table",
        description=_wrap(
            "Cross-validate the GAN, its ablation, the linear decoders and the "
            "shuffled control on a dataset; print mean +/- 95% CI over folds and write "
            "DIR/metrics.csv, DIR/metrics.json and DIR/folds.csv."
        ),
        epilog="examples:\n"
        "  eeg2music evaluate --out eval_mos --dataset simulated --kind mos --split loso\n"
        "  eeg2music evaluate --out eval_nmedt --dataset nmedt --data-dir NMED-T "
        "--audio-dir songs --models linear-envelope gan --split group-kfold\n"
        "  eeg2music evaluate --out eval_st --split subject-time --max-folds 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("--out", required=True, help="output folder")
    _add_data_args(ev)
    ev.add_argument("--split", choices=["loso", "group-kfold", "subject-time"], default="loso")
    ev.add_argument("--n-splits", type=_positive_int, default=4, help="for subject-time")
    ev.add_argument("--max-folds", type=_positive_int, default=None)
    ev.add_argument(
        "--models",
        nargs="+",
        default=["linear-mel", "linear-envelope"],
        choices=["gan", "gan-recon-only", "linear-mel", "linear-envelope", "shuffled-gan"],
    )
    ev.add_argument("--epochs", type=_positive_int, default=8, help="GAN epochs")
    ev.set_defaults(func=_evaluate)

    fit = sub.add_parser(
        "fit",
        help="fit a pipeline on a dataset and save it to a model file",
        description=_wrap(
            "Fit the pre-processing (band-pass, robust scaling, clipping, Euclidean "
            "Alignment per subject) and a decoder on the selected trials, then write the fitted "
            "pipeline to one model file (safetensors, no pickle; see save_model). The file is "
            "written only once complete. Progress goes to standard error, a one-line summary "
            "to standard output."
        ),
        epilog="examples:\n"
        "  eeg2music fit --dataset simulated --kind mos --out gan_mos.safetensors\n"
        "  eeg2music fit --dataset mos --data-dir MOS --subjects 1 2 3 --model linear-mel "
        "--out linear_mos.safetensors\n"
        "  eeg2music fit --dataset nmedt --data-dir NMED-T --audio-dir songs --preset gpu "
        "--device cuda --epochs 100 --out gan_nmedt.safetensors\n"
        "  eeg2music fit --dataset simulated --n-subjects 2 --preset tiny --epochs 1 "
        "--audio-sfreq 8000 --out quick.safetensors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--out", required=True, help="model file to write, e.g. model.safetensors")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _add_data_args(fit)
    fit.add_argument(
        "--model",
        choices=["gan", "gan-recon-only", "linear-mel", "linear-envelope"],
        default="gan",
        help="gan: the GAN pipeline; gan-recon-only: without the adversarial loss; "
        "linear-*: lagged-ridge decoders (default: gan)",
    )
    fit.add_argument("--epochs", type=_positive_int, default=30, help="GAN epochs (default: 30)")
    fit.add_argument(
        "--preset",
        choices=["cpu", "gpu", "tiny"],
        default="cpu",
        help="GAN network sizes: cpu (2 cores), gpu (larger, pair with --device cuda), "
        "tiny (tests) (default: cpu)",
    )
    fit.add_argument(
        "--device", type=_device, default="cpu", help="GAN device: cpu or cuda (default: cpu)"
    )
    fit.set_defaults(func=_fit)

    rec = sub.add_parser(
        "reconstruct",
        help="reconstruct music from EEG with a saved model and write WAV files",
        description=_wrap(
            "Load a model file (refused if written by an incompatible package "
            "version, or if the EEG's rate or channels differ from the training ones), "
            "reconstruct every trial of the selected dataset or of an EEG file, and write one "
            "peak-normalised 16-bit WAV per trial plus DIR/index.csv (file, subject, stimulus, "
            "condition, segment). Euclidean Alignment uses each subject's own EEG. The linear "
            "models' WAVs are renderings of their decoded features (Griffin-Lim from the "
            "log-mel, or a carrier modulated by the envelope)."
        ),
        epilog="examples:\n"
        "  eeg2music reconstruct --model gan_mos.safetensors --dataset simulated --kind mos "
        "--subjects 5 --out rec_sub05\n"
        "  eeg2music reconstruct --model gan_mos.safetensors --dataset mos --data-dir MOS "
        "--subjects 20 --conditions imagery --out rec_imagery\n"
        "  eeg2music reconstruct --model gan_mos.safetensors --eeg sub-07-epo.fif --out rec_07\n"
        "  eeg2music reconstruct --model gan_mos.safetensors --eeg trials.npy --sfreq 64 "
        "--subject sub-07 --out rec_npy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rec.add_argument("--model", required=True, help="model file written by fit / save_model")
    rec.add_argument(
        "--out",
        required=True,
        help="output folder: new, empty, or an earlier output (replaced)",
    )
    rec.add_argument(
        "--eeg",
        default=None,
        help="EEG file instead of --dataset: MNE Epochs (*-epo.fif; channels picked by name) "
        "or .npy of shape (n_trials, n_channels, n_times) in volts with --sfreq",
    )
    rec.add_argument("--sfreq", type=_positive_float, default=None, help="EEG rate of a .npy file")
    rec.add_argument(
        "--subject", default=None, help="subject id of the --eeg trials (default: from the file)"
    )
    _add_data_args(rec)
    rec.add_argument(
        "--device",
        type=_device,
        default="cpu",
        help="device of GAN models: cpu or cuda (default: cpu)",
    )
    rec.set_defaults(func=_reconstruct)
    return parser


def _add_data_args(parser):
    """Options that choose a dataset and the trials to use."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        choices=["simulated", "nmedt", "mos"],
        default=None,
        help="(default: simulated)",
    )
    group.add_argument(
        "--kind", choices=["mos", "nmedt"], default="mos", help="simulated dataset (default: mos)"
    )
    group.add_argument(
        "--data-dir", "--path", dest="data_dir", default=None, help="dataset folder (nmedt, mos)"
    )
    group.add_argument("--audio-dir", default=None, help="NMED-T audio folder (song21.wav, ...)")
    group.add_argument(
        "--subjects", nargs="+", default=None, help="subject ids or numbers (default: all)"
    )
    group.add_argument(
        "--stimuli", nargs="+", default=None, help="stimulus ids, e.g. chor-096 (default: all)"
    )
    group.add_argument(
        "--conditions",
        nargs="+",
        choices=["listening", "imagery"],
        default=None,
        help="(default: all)",
    )
    group.add_argument(
        "--n-subjects", type=_positive_int, default=4, help="simulated subjects (default: 4)"
    )
    group.add_argument(
        "--segment-seconds", type=_positive_float, default=4.0, help="trial length (default: 4.0)"
    )
    group.add_argument(
        "--stimulus-seconds",
        type=_positive_float,
        default=None,
        help="simulated stimulus length (default: the dataset's)",
    )
    group.add_argument(
        "--audio-sfreq",
        type=_positive_int,
        default=16000,
        help="audio rate (Hz), a multiple of the EEG rate (default: 16000)",
    )
    group.add_argument(
        "--snr-db",
        type=float,
        default=None,
        help="simulated EEG signal-to-noise ratio in dB (default: the calibrated one)",
    )
    group.add_argument("--seed", type=int, default=0, help="(default: 0)")


def main(argv=None):
    """Entry point of ``python -m sk_eeg2music`` and the ``eeg2music`` script.

    Parameters
    ----------
    argv : list of str | None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success; 2 for bad arguments (argparse), an output path that cannot be
        written, or input rejected with a ValueError (an unknown subject, a model file
        of another package version or of other channels; the message says why); 1 when
        writing fails midway (e.g. a full disk), in which case nothing was left behind.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OutputDirError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc}; nothing was written.", file=sys.stderr)
        return EXIT_FAILURE
