"""Command line: ``python -m sk_eeg2music <command>`` (also ``eeg2music <command>``).

Commands: ``demo`` (simulate, evaluate, write a report), ``evaluate``
(cross-validate, write a metrics table), ``fit`` (fit a pipeline, write a model
file) and ``reconstruct`` (model + EEG -> WAV files). The work is done by
library functions (:func:`~sk_eeg2music.datasets.load_dataset`,
:func:`~sk_eeg2music.datasets.read_epochs`,
:func:`~sk_eeg2music.pipelines.make_models`, the evaluation harness); this
module parses arguments and reports. The help text of each command is the
docstring of its function.

Every command checks ``--out`` before doing any work (creating and removing a
temporary file where the output will go) and writes atomically, through
:mod:`sk_eeg2music._io`: the output is staged under a unique temporary name and
renamed into place only once complete. Exit status: 0 on success; 2 for bad
arguments or input (a bad ``--out`` fails at once, before any work); 1 when
writing fails midway (a full disk); 130 after Ctrl-C. A failed or interrupted
run leaves nothing half-written, and never a model or report that looks
complete.
"""

import argparse
import contextlib
import inspect
import re
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import _io, persistence
from ._routing import call_routed
from .datasets import DATASETS, load_dataset, read_epochs
from .demo import DEMO_MODELS
from .listening._cli import add_listen_parsers
from .persistence import check_channels, load_model, model_info
from .pipelines import MODELS, make_models

#: Exit status for unusable arguments (the same as argparse's).
EXIT_USAGE = 2
#: Exit status when the work itself fails (e.g. the disk fills up while writing).
EXIT_FAILURE = 1
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def _log(message):
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ commands
def _demo(args):
    """Simulate EEG and music, evaluate on held-out data and write DIR/report.html with
    audio players, spectrograms and a metrics table (plus WAV files, metrics.csv and
    metrics.json).

    examples:
      python -m sk_eeg2music demo --out demo_output
      eeg2music demo --out nmedt_report --kind nmedt --n-subjects 2
      eeg2music demo --out quick --audio-sfreq 8000 --segment-seconds 2
      eeg2music demo --out clearer --snr-db -15   # EEG with more signal
    """
    from .demo import run_demo

    out = _io.check_output_dir(args.out)
    t0 = time.perf_counter()
    keys = "kind n_subjects segment_seconds audio_sfreq epochs seed n_jobs snr_db models preset"
    keys = keys.split()
    settings = {k: getattr(args, k) for k in keys}
    report, summary = run_demo(out, n_folds=None if args.full else args.folds, **settings)
    _print_summary(summary)
    print(f"wall time: {time.perf_counter() - t0:.0f} s")
    print(f"report: {report}")
    return 0


def _evaluate(args):
    """Cross-validate models of the registry (sk_eeg2music.pipelines.MODELS: the GAN,
    its ablations, the linear decoders, the no-EEG baselines and the null controls) on
    a dataset; every trial is scored at the feature and the waveform level. Prints the
    means and writes DIR/metrics.csv and DIR/metrics.json (means, 95% bootstrap intervals
    over subjects, paired p-values against the baselines and nulls), DIR/folds.csv,
    DIR/trials.csv (per-trial scores) and DIR/comparisons.csv (paired Wilcoxon tests).

    examples:
      eeg2music evaluate --out eval_mos --dataset simulated --kind mos --split loso
      eeg2music evaluate --out eval_nmedt --dataset nmedt --data-dir NMED-T \\
          --audio-dir songs --models linear-envelope gan --split group-kfold
      eeg2music evaluate --out eval_st --split subject-time --max-folds 2
    """
    out = _io.check_output_dir(args.out)
    data = _load(args)
    split = _make_split(args.split, len(set(data.subject)), args.n_splits, args.seed)
    models = make_models(data.sfreq, args.models, epochs=args.epochs, seed=args.seed)
    evaluation = _cross_validate(models, data, split, args.split, args.max_folds)
    summary = evaluation.summary()
    with _io.atomic_output_dir(out) as tmp:
        evaluation.folds.to_csv(tmp / "folds.csv", index=False)
        evaluation.trials.to_csv(tmp / "trials.csv", index=False)
        evaluation.comparisons().to_csv(tmp / "comparisons.csv", index=False)
        summary.to_csv(tmp / "metrics.csv", index=False)
        summary.to_json(tmp / "metrics.json", orient="records", indent=1)
    _print_summary(summary)
    print(f"metrics: {out / 'metrics.csv'}")
    return 0


def _cross_validate(models, data, split, split_name, max_folds):
    """The evaluation entry point: an :class:`~sk_eeg2music.evaluation.Evaluation`."""
    from .evaluation import evaluate_models

    return evaluate_models(models, data, split, split=split_name, max_folds=max_folds, log=_log)


def _fit(args):
    """Fit the pre-processing (band-pass, robust scaling, clipping, Euclidean Alignment
    per subject) and a model of the registry on the selected trials, then write the
    fitted pipeline to one model file (safetensors, no pickle; see save_model). The
    file is written only once complete. Progress goes to standard error, a one-line
    summary to standard output.

    examples:
      eeg2music fit --dataset simulated --kind mos --out gan_mos.safetensors
      eeg2music fit --dataset mos --data-dir MOS --subjects 1 2 3 --model linear-mel \\
          --out linear_mos.safetensors
      eeg2music fit --dataset nmedt --data-dir NMED-T --audio-dir songs --preset gpu \\
          --device cuda --epochs 100 --out gan_nmedt.safetensors
      eeg2music fit --dataset simulated --n-subjects 2 --preset tiny --epochs 1 \\
          --audio-sfreq 8000 --out quick.safetensors
    """
    out = check_model_path(args.out, overwrite=args.overwrite)
    _check_cuda(args.device)
    t0 = time.perf_counter()
    data = _load(args, need_audio=True)
    subjects = sorted(set(data.subject))
    pipe = _make_model(args, data.sfreq)
    _log(
        f"fitting {args.model} on {len(data)} trials of {len(subjects)} subjects "
        f"({data.X.shape[1]} channels at {data.sfreq:g} Hz, audio at {data.audio_sfreq} Hz) ..."
    )
    # skorch prints its epoch table on stdout; stdout is kept for the result.
    with contextlib.redirect_stdout(sys.stderr):
        call_routed(pipe, "fit", data.X, data.y, groups=data.groups, condition=data.condition)
    # Published only if still absent (unless --overwrite): another run may have
    # written the same --out meanwhile.
    with _io.atomic_output_file(out, overwrite=args.overwrite) as tmp:
        persistence.save_model(pipe, tmp, info=data.info)
    print(
        f"model: {out}  trials: {len(data)}  subjects: {','.join(subjects)}  "
        f"wall time: {time.perf_counter() - t0:.1f} s"
    )
    return 0


def _make_model(args, sfreq):
    """The registry's ``--model``, its GANs printing their epoch table (the progress)."""

    gan = dict(preset=args.preset, device=args.device)
    model = make_models(sfreq, [args.model], epochs=args.epochs, seed=args.seed, gan_params=gan)
    model = model[args.model]
    return model.set_params(**{k: 1 for k in model.get_params() if k.endswith("gan__verbose")})


def check_model_path(path, overwrite=False):
    """Check that a model file can be written at ``path``, before any work is done.

    Besides the path checks, a temporary file is created and removed in the
    folder that will hold the model; nothing else is created (missing parent
    folders are created only once the model is fitted).

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
    return _io.check_output_file(path, overwrite=overwrite)


def _reconstruct(args):
    """Load a model file (refused if written by an incompatible package version, or if
    the EEG's rate or channels differ from the training ones), reconstruct every trial
    of the selected dataset or of an EEG file, and write one peak-normalised 16-bit WAV
    per trial plus DIR/index.csv (file, subject, stimulus, condition, segment).
    Euclidean Alignment uses each subject's own EEG. A GAN fitted on several
    conditions gets each trial's condition (from the dataset, or from the
    listening/imagery tags of a .fif file's events; a .npy file has none, so such a
    model refuses it). The linear models' WAVs are renderings of their decoded
    features (Griffin-Lim from the log-mel, or a carrier modulated by the envelope).

    examples:
      eeg2music reconstruct --model gan_mos.safetensors --dataset simulated --kind mos \\
          --subjects 5 --out rec_sub05
      eeg2music reconstruct --model gan_mos.safetensors --dataset mos --data-dir MOS \\
          --subjects 20 --conditions imagery --out rec_imagery
      eeg2music reconstruct --model gan_mos.safetensors --eeg sub-07-epo.fif --out rec_07
      eeg2music reconstruct --model gan_mos.safetensors --eeg trials.npy --sfreq 64 \\
          --subject sub-07 --out rec_npy
    """
    out = _io.check_output_dir(args.out)
    if not Path(args.model).is_file():
        raise ValueError(f"--model {args.model}: no such file.")
    meta = model_info(args.model)  # refuses files of another package version
    t0 = time.perf_counter()
    X, labels, sfreq, ch_names = _reconstruct_input(args, meta)
    _check_fits_model(meta, X, sfreq, ch_names)
    _check_cuda(args.device)
    model = load_model(args.model, device=args.device)
    audio_sfreq = meta.get("audio_sfreq")
    if audio_sfreq is None:
        raise ValueError(f"{args.model} stores no audio rate; it is not a reconstruction model.")
    _log(f"reconstructing {len(X)} trials with {meta['estimator']} ...")
    with contextlib.redirect_stdout(sys.stderr):
        y_pred = call_routed(
            model,
            "predict",
            X,
            groups=labels["subject"].to_numpy(),
            condition=_conditions(labels),
        )
    y_pred = np.asarray(y_pred)
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
    with _io.atomic_output_dir(out) as tmp:
        for name, wave in zip(files, y_pred, strict=True):
            _io.write_wav(tmp / name, wave, int(audio_sfreq))
        labels.insert(0, "file", files)
        labels.to_csv(tmp / "index.csv", index=False)
    print(
        f"wrote {len(files)} WAV files ({y_pred.shape[1] / audio_sfreq:g} s at "
        f"{int(audio_sfreq)} Hz) to {out}  index: {out / 'index.csv'}  "
        f"wall time: {time.perf_counter() - t0:.1f} s"
    )
    return 0


def _reconstruct_input(args, meta):
    """``(X, labels, sfreq, ch_names)`` of ``--eeg`` or of the dataset selection."""

    if args.eeg is not None and args.dataset is not None:
        raise ValueError("pass either --eeg or --dataset, not both.")
    if args.eeg is not None:
        try:
            return read_epochs(
                args.eeg, args.sfreq, ch_names=meta.get("ch_names"), subject=args.subject
            )
        except ValueError as exc:
            raise ValueError(f"--eeg {exc}") from None
    data = _load(args)
    labels = pd.DataFrame(
        {k: getattr(data, k) for k in ("subject", "stimulus", "condition", "segment")}
    )
    return data.X, labels, data.sfreq, data.ch_names


def _conditions(labels):
    """Each trial's condition, or None where the input names none (``--eeg`` without tags)."""
    condition = labels["condition"].to_numpy()
    known = [c not in (None, "") for c in condition]
    return condition if all(known) else None


def _check_fits_model(meta, X, sfreq, ch_names):
    """Refuse EEG at another rate, or with other channels, than the model's training EEG."""

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


# ------------------------------------------------------------------- helpers
def _load(args, *, need_audio=False):
    """The dataset named by ``--dataset`` and friends, narrowed to the selection."""
    name = args.dataset or "simulated"
    if name != "simulated" and args.data_dir is None:
        raise ValueError(
            f"--data-dir (or --path) is required for --dataset {name}: the folder "
            "holding the downloaded files (see the datasets page of the documentation)."
        )
    if args.songs and name != "nmedt":
        raise ValueError(
            f"--songs selects NMED-T songs (--dataset nmedt); for --dataset {name} "
            "select stimuli with --stimuli."
        )
    _log(f"loading {name} data ...")
    options = ("subjects", "stimuli", "conditions", "songs", "audio_dir", "segment_seconds",
               "audio_sfreq", "kind", "n_subjects", "snr_db", "stimulus_seconds")  # fmt: skip
    kwargs = {k: getattr(args, k) for k in options if getattr(args, k) is not None}
    try:
        data = load_dataset(name, args.data_dir, random_state=args.seed, **kwargs)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise ValueError(str(exc)) from exc  # files missing or misplaced: bad input (exit 2)
    if need_audio:
        data.require_y()
    return data


def _make_split(name, n_subjects, n_splits, seed):
    """The one splitter that ``--split`` names (the others may not fit the data)."""
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    from .model_selection import SubjectTimeSplit

    if name == "subject-time":
        return SubjectTimeSplit(n_splits=n_splits, random_state=seed)
    if n_subjects < 2:
        raise ValueError(
            f"--split {name} holds subjects out, so it needs at least 2 subjects; the "
            f"selected data has {n_subjects}. Add subjects (--n-subjects, --subjects)."
        )
    if name == "loso":
        return LeaveOneGroupOut()
    return GroupKFold(n_splits=min(5, n_subjects))


def _print_summary(summary):
    cols = [
        "model",
        "condition",
        "feature_r",
        "feature_r_beat",
        "feature_id_acc",
        "feature_mm_acc",
        "mel_r",
    ]
    cols += ["mm_acc", "id_acc", "id_chance", "song_acc", "song_chance", "feature_song_acc"]
    cols += ["feature_id_label_p", "feature_song_label_p"]
    table = summary[[c for c in cols if c in summary]]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _safe(text):
    return re.sub(r"[^A-Za-z0-9.-]+", "-", str(text)).strip("-") or "x"


def _check_cuda(device):

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"--device {device}: this PyTorch build sees no CUDA GPU. Use --device cpu, "
            "or install a CUDA build of PyTorch."
        )


# -------------------------------------------------------------------- parser
def _device(text):
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"must be cpu, cuda or cuda:N; got {text!r}")
    return text


def _positive(cast, what):
    """An argparse type: ``cast(text)``, refused unless > 0."""

    def parse(text):
        value = cast(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be a positive {what}; got {text}")
        return value

    parse.__name__ = f"positive {what}"  # argparse's "invalid positive integer value"
    return parse


def _command(sub, name, func, summary, options):
    """The sub-parser of ``func``, whose docstring gives the description and the examples.

    ``options`` maps the flags of each option (``"--data-dir --path"``) to its
    help text and :meth:`~argparse.ArgumentParser.add_argument` keywords.
    """
    text, _, examples = inspect.cleandoc(func.__doc__).partition("\n\nexamples:\n")
    parser = sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(" ".join(text.split()), width=79),
        epilog="examples:\n" + examples if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_options(parser, options)
    parser.set_defaults(func=func)
    return parser


def _add_options(parser, options):
    for flags, (text, kwargs) in options.items():
        parser.add_argument(*flags.split(), help=text, **kwargs)


def build_parser():
    """The argument parser with one sub-command per task.

    Each sub-command is declared by one ``_add_<command>_parser(sub)`` function,
    so adding a command is one call here.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sk_eeg2music",
        description="Reconstruct perceived and imagined music from EEG.",
        epilog="exit status: 0 success; 1 writing failed (nothing was left half-written); "
        "2 bad arguments or input; 130 interrupted (Ctrl-C)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_demo_parser(sub)
    _add_evaluate_parser(sub)
    _add_fit_parser(sub)
    _add_reconstruct_parser(sub)
    add_listen_parsers(sub)
    return parser


_POS_INT = dict(type=_positive(int, "integer"))
_POS_FLOAT = dict(type=_positive(float, "number"))
_DEVICE = dict(type=_device, default="cpu")


def _add_demo_parser(sub):
    out = "output folder: new, empty, or a previous report (replaced) (default: %(default)s)"
    options = {
        "--out": (out, dict(default="demo_output")),
        **_SIMULATION_OPTIONS,
        "--folds": ("GroupKFold folds over subjects, all of them run (default: 2)",
                    dict(_POS_INT, default=2)),
        "--full": ("leave-one-subject-out instead (one fold per subject)",
                   dict(action="store_true")),
        "--epochs": ("GAN epochs per fold (default: 5)", dict(_POS_INT, default=5)),
        "--n-jobs": ("folds fitted in parallel (default: one per fold, at most one per CPU "
                     "core)", _POS_INT),
        "--models": (f"models of the registry (default: {' '.join(DEMO_MODELS)})",
                     dict(nargs="+", choices=list(MODELS), metavar="MODEL",
                          default=list(DEMO_MODELS))),
        "--preset": ("GAN preset: tiny (smoke test), cpu (default), gpu",
                     dict(choices=["tiny", "cpu", "gpu"])),
    }  # fmt: skip
    _command(sub, "demo", _demo, "simulate data, fit, evaluate and write a report", options)


def _add_evaluate_parser(sub):
    models = dict(nargs="+", choices=list(MODELS), metavar="MODEL")
    options = {
        "--out": ("output folder", dict(required=True)),
        "--split": (None, dict(choices=["loso", "group-kfold", "subject-time"], default="loso")),
        "--n-splits": ("for subject-time", dict(_POS_INT, default=4)),
        "--max-folds": (None, _POS_INT),
        "--models": (f"models of the registry: {', '.join(MODELS)} (default: linear-mel "
                     "linear-envelope)", dict(models, default=["linear-mel", "linear-envelope"])),
        "--epochs": ("GAN epochs", dict(_POS_INT, default=8)),
    }  # fmt: skip
    summary = "cross-validate pipelines and write a metrics table"
    _add_data_args(_command(sub, "evaluate", _evaluate, summary, options))


def _add_fit_parser(sub):
    options = {
        "--out": ("model file to write, e.g. model.safetensors", dict(required=True)),
        "--overwrite": ("replace an existing --out file", dict(action="store_true")),
        "--model": (f"a model of the registry (sk_eeg2music.pipelines.MODELS): "
                    f"{', '.join(MODELS)} (default: gan)",
                    dict(choices=list(MODELS), default="gan", metavar="MODEL")),
        "--epochs": ("GAN epochs (default: 30)", dict(_POS_INT, default=30)),
        "--preset": ("GAN network sizes: cpu (2 cores), gpu (larger, pair with --device cuda), "
                     "tiny (tests) (default: cpu)", dict(choices=["cpu", "gpu", "tiny"],
                                                         default="cpu")),
        "--device": ("GAN device: cpu or cuda (default: cpu)", _DEVICE),
    }  # fmt: skip
    summary = "fit a pipeline on a dataset and save it to a model file"
    _add_data_args(_command(sub, "fit", _fit, summary, options))


def _add_reconstruct_parser(sub):
    options = {
        "--model": ("model file written by fit / save_model", dict(required=True)),
        "--out": ("output folder: new, empty, or an earlier output (replaced)",
                  dict(required=True)),
        "--eeg": ("EEG file instead of --dataset: MNE Epochs (*-epo.fif; channels picked by "
                  "name) or .npy of shape (n_trials, n_channels, n_times) in volts with --sfreq",
                  {}),
        "--sfreq": ("EEG rate of a .npy file", _POS_FLOAT),
        "--subject": ("subject id of the --eeg trials (default: from the file)", {}),
        "--device": ("device of GAN models: cpu or cuda (default: cpu)", _DEVICE),
    }  # fmt: skip
    summary = "reconstruct music from EEG with a saved model and write WAV files"
    _add_data_args(_command(sub, "reconstruct", _reconstruct, summary, options))


_SIMULATION_OPTIONS = {
    "--kind": ("simulated dataset (default: mos)", dict(choices=["mos", "nmedt"], default="mos")),
    "--n-subjects": ("simulated subjects (default: 4)", dict(_POS_INT, default=4)),
    "--segment-seconds": ("trial length (default: 4.0)", dict(_POS_FLOAT, default=4.0)),
    "--audio-sfreq": ("audio rate (Hz), a multiple of the EEG rate (default: 16000)",
                      dict(_POS_INT, default=16000)),
    "--snr-db": ("simulated EEG signal-to-noise ratio in dB (default: the simulator's "
                 "calibrated, realistic one, at which cross-subject scores sit near chance; "
                 "-15 gives the models more to decode)", dict(type=float)),
    "--seed": ("(default: 0)", dict(type=int, default=0)),
}  # fmt: skip


def _add_data_args(parser):
    """Options that choose a dataset and the trials to use."""
    _add_options(parser.add_argument_group("data"), {
        "--dataset": ("(default: simulated)", dict(choices=DATASETS)),
        "--data-dir --path": ("dataset folder (nmedt, mos)", dict(dest="data_dir")),
        "--audio-dir": ("NMED-T audio folder (song21.wav, ...)", {}),
        "--subjects": ("subject ids or numbers (default: all)", dict(nargs="+")),
        "--stimuli": ("stimulus ids, e.g. chor-096 (default: all)", dict(nargs="+")),
        "--songs": ("NMED-T songs to load, e.g. 21 22 or song21 (default: all ten)",
                    dict(nargs="+")),
        "--conditions": ("(default: all)", dict(nargs="+", choices=["listening", "imagery"])),
        "--stimulus-seconds": ("simulated stimulus length (default: the dataset's)", _POS_FLOAT),
        **_SIMULATION_OPTIONS,
    })  # fmt: skip


def _one_line(exc):
    """The message of an exception on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


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
        written (checked before any work), or input rejected with a ValueError (an
        unknown subject, a model file of another package version or of other
        channels; the message says why); 1 when writing fails midway (e.g. a full
        disk), in which case nothing was left behind; 130 after Ctrl-C, in which
        case no model or report was written or replaced. Errors are reported on
        one line of standard error.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C); nothing was written.", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except (_io.OutputDirError, ValueError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {_one_line(exc)}; nothing was written.", file=sys.stderr)
        return EXIT_FAILURE
