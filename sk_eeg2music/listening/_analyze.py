"""Read listening-test ratings, screen listeners, test the differences, write a summary."""

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..stats import holm
from ._build import COLUMNS, HIDDEN_REFERENCE, read_test
from ._order import fnv1a32

#: Columns every ratings CSV must have (the issue's list); the others are optional.
REQUIRED = [
    "listener",
    "trial",
    "stimulus",
    "segment",
    "condition",
    "system",
    "rating",
    "play_count",
    "time_spent_s",
    "order_shown",
]
BLOCKS = ("mushra", "2afc")
#: System names taken for baselines when none are given: the linear decoder and the nulls.
BASELINE_PATTERN = re.compile(
    r"linear|shuffled|null|mean.spectrum|baseline|time.shift|beat.template|no EEG", re.IGNORECASE
)
_CONDITION_ORDER = ("listening", "imagery")


def _role(system, test):
    if test is not None and system in test.get("systems", {}):
        return test["systems"][system]
    if system == HIDDEN_REFERENCE:
        return "reference"
    return "anchor" if system.startswith("Anchor (") else "system"


def _where(name, i):
    return f"{name}, row {i + 1} (line {i + 2})" if name else f"row {i + 1}"


_INT_COLUMNS = ("segment", "play_count", "order_shown")


def _check_labels(row, where, test, systems, trials):
    """Check one row's block, listener, system, trial and order seed (against ``test``)."""
    if row.block not in BLOCKS:
        raise ValueError(f"{where}: block {row.block!r} is neither 'mushra' nor '2afc'.")
    if not row.listener:
        raise ValueError(f"{where}: the listener code is empty.")
    if systems is not None and row.system not in systems:
        raise ValueError(
            f"{where}: unknown system {row.system!r}; this test has {sorted(systems)}."
        )
    if trials is not None and (row.block, row.trial) not in trials:
        raise ValueError(f"{where}: unknown {row.block} trial {row.trial!r} for this test.")
    if test is not None and row.seed and row.seed != str(fnv1a32(f"{test['seed']}|{row.listener}")):
        raise ValueError(
            f"{where}: seed {row.seed} is not this test's order seed for listener "
            f"{row.listener!r}; the ratings come from another build of the test."
        )


def _to_float(text):
    try:
        return float(text)
    except ValueError:
        return np.nan


def _parse_numbers(row, where):
    """One row's counts (:data:`_INT_COLUMNS`), time spent, rating and 2AFC answer.

    The rating is NaN on a 2AFC row, the answer NaN on a MUSHRA row.
    """
    counts = []
    for col in _INT_COLUMNS:
        value = getattr(row, col)
        if not re.fullmatch(r"-?\d+", value) or (col != "segment" and int(value) < 0):
            raise ValueError(f"{where}: {col} {value!r} is not a non-negative integer.")
        counts.append(int(value))
    spent = _to_float(row.time_spent_s)
    if not spent >= 0:
        raise ValueError(f"{where}: time_spent_s {row.time_spent_s!r} is not a duration.")
    rating = correct = np.nan
    if row.block == "mushra":
        rating = _to_float(row.rating)
        if not 0 <= rating <= 100:
            raise ValueError(f"{where}: rating {row.rating!r} is outside 0-100.")
    else:
        if row.correct not in ("0", "1", "0.0", "1.0"):
            raise ValueError(f"{where}: a 2afc row needs correct 0 or 1; got {row.correct!r}.")
        correct = float(row.correct)
    return counts, spent, rating, correct


def _check_unique(df, name):
    """Refuse a second answer of a listener for one clip (or system and subject) of a trial."""
    key = df["clip"].where(df["clip"] != "", df["system"] + "|" + df["subject"])
    dup = pd.DataFrame({"l": df.listener, "b": df.block, "t": df.trial, "k": key}).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise ValueError(
            f"{_where(name, i)}: a second answer of listener {df.listener.iloc[i]!r} for "
            f"{df.block.iloc[i]} trial {df.trial.iloc[i]!r}, {df.system.iloc[i]!r}."
        )


def _check_frame(df, name, test):
    """Validate one ratings table; returns it typed. Errors name the row."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        where = f"{name}: the header" if name else "the ratings"
        raise ValueError(
            f"{where} lacks the column(s) {missing}; a ratings CSV has the columns "
            f"{', '.join(COLUMNS)} (those of the page's download)."
        )
    df = df.copy()
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = "mushra" if col == "block" else ""
    df = df.astype(str).apply(lambda s: s.str.strip())
    systems = set(test["systems"]) if test is not None else None
    trials = None
    if test is not None:
        trials = {("mushra", t["id"]) for t in test["mushra"]}
        trials |= {("2afc", t["id"]) for t in test["afc"]}
    rating = np.full(len(df), np.nan)
    correct = np.full(len(df), np.nan)
    ints = {c: np.zeros(len(df), dtype=np.int64) for c in _INT_COLUMNS}
    spent = np.zeros(len(df))
    for i, row in enumerate(df.itertuples(index=False)):
        where = _where(name, i)
        _check_labels(row, where, test, systems, trials)
        counts, spent[i], rating[i], correct[i] = _parse_numbers(row, where)
        for col, value in zip(_INT_COLUMNS, counts, strict=True):
            ints[col][i] = value
    df["rating"], df["correct"], df["time_spent_s"] = rating, correct, spent
    for col, values in ints.items():
        df[col] = values
    _check_unique(df, name)
    return df


def _find_test(path):
    for folder in (path.parent, path.parent.parent):
        if (folder / "test.json").is_file():
            return read_test(folder)
    return None


def read_ratings(ratings, test=None):
    """Read and validate ratings: one or more CSV files, a test folder, or a DataFrame.

    Parameters
    ----------
    ratings : str | Path | list of (str | Path) | pandas.DataFrame
        A ratings CSV (the page's download), several of them (concatenated), a
        test folder (every ``ratings/*.csv`` in it), or a table with the same
        columns.
    test : str | Path | dict | None, default=None
        The test folder (or its ``test.json`` content) the ratings belong to;
        its systems and trials are then the only ones accepted. ``None``: the
        test folder is found beside a CSV file (``TEST_DIR/ratings/x.csv``)
        when there is one.

    Returns
    -------
    ratings : pandas.DataFrame
        One row per answer, columns as the page writes them; ``rating``
        (MUSHRA rows) and ``correct`` (2AFC rows) are floats, NaN where they do
        not apply.

    Raises
    ------
    ValueError
        On a missing column, a rating outside 0-100, an unknown system or
        trial, a malformed count, a duplicate answer, or an order seed of
        another build of the test; the message names the file and row.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_eeg2music.listening import read_ratings
    >>> bad = pd.DataFrame(dict(listener=["L01"], trial=["t01"], stimulus=["s"], segment=[0],
    ...                         condition=["listening"], system=["GAN"], rating=[120],
    ...                         play_count=[1], time_spent_s=[9.5], order_shown=[1]))
    >>> try:
    ...     read_ratings(bad)
    ... except ValueError as exc:
    ...     print(exc)
    row 1: rating '120' is outside 0-100.
    """
    if isinstance(test, (str, Path)):
        test = read_test(test)
    if isinstance(ratings, pd.DataFrame):
        return _check_frame(ratings, "", test).reset_index(drop=True)
    if isinstance(ratings, (str, Path)):
        path = Path(ratings).expanduser()
        if path.is_dir():
            test = test if test is not None else read_test(path)
            ratings = sorted((path / "ratings").glob("*.csv"))
            if not ratings:
                raise ValueError(f"{path / 'ratings'} holds no ratings CSV yet.")
        else:
            ratings = [path]
    frames = []
    for path in map(Path, ratings):
        if not path.is_file():
            raise ValueError(f"{path}: no such ratings file.")
        file_test = test if test is not None else _find_test(path)
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        frames.append(_check_frame(raw, path.name, file_test))
    if not frames:
        raise ValueError("no ratings given.")
    out = pd.concat(frames, ignore_index=True)
    return _check_frame(out[COLUMNS], "", test) if len(frames) > 1 else out[COLUMNS]


def post_screening(ratings, threshold=90.0, max_fraction=0.15):
    """ITU-R BS.1534-3 post-screening: who rates the hidden reference too low too often.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Validated ratings (:func:`read_ratings`).
    threshold : float, default=90.0
        A hidden-reference rating below this counts as a miss.
    max_fraction : float, default=0.15
        A listener is excluded when more than this fraction of their MUSHRA
        trials are misses.

    Returns
    -------
    screening : pandas.DataFrame
        One row per listener: ``listener``, ``n_trials``, ``n_below`` (trials
        with the hidden reference below ``threshold``), ``fraction_below`` and
        ``excluded`` (bool).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_eeg2music.listening import post_screening
    >>> r = pd.DataFrame(dict(listener=["L1"] * 4 + ["L2"] * 4, block="mushra",
    ...                       system="Hidden reference", trial=["a", "b", "c", "d"] * 2,
    ...                       rating=[100, 95, 92, 99, 100, 60, 100, 100]))
    >>> post_screening(r)[["listener", "fraction_below", "excluded"]]
      listener  fraction_below  excluded
    0       L1            0.00     False
    1       L2            0.25      True
    """
    mush = ratings[(ratings["block"] == "mushra") & (ratings["system"] == HIDDEN_REFERENCE)]
    # A trial is a miss when its hidden reference (one per trial) is rated low.
    per_trial = mush.groupby(["listener", "trial"])["rating"].min() < threshold
    listeners = pd.unique(ratings["listener"])
    out = pd.DataFrame({"listener": listeners})
    grouped = per_trial.groupby(level="listener")
    out["n_trials"] = out["listener"].map(grouped.size()).fillna(0).astype(int)
    out["n_below"] = out["listener"].map(grouped.sum()).fillna(0).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["fraction_below"] = out["n_below"] / out["n_trials"].where(out["n_trials"] > 0)
    out["excluded"] = out["fraction_below"].fillna(0) > max_fraction
    return out


def _system_order(systems, test):
    known = list(test["systems"]) if test is not None else []
    rank = {s: i for i, s in enumerate(known)}
    first = {HIDDEN_REFERENCE: -2}
    return sorted(
        systems,
        key=lambda s: (first.get(s, -1 if s.startswith("Anchor (") else 0), rank.get(s, 99), s),
    )


def _conditions(values):
    return sorted(
        pd.unique(values),
        key=lambda c: (_CONDITION_ORDER.index(c) if c in _CONDITION_ORDER else 99, c),
    )


def _wilcoxon(x, y):
    from scipy.stats import wilcoxon

    d = x - y
    if len(d) == 0:
        return np.nan, np.nan
    if np.all(d == 0):  # no difference at all: nothing to rank
        return np.nan, 1.0
    res = wilcoxon(x, y)
    return float(res.statistic), float(res.pvalue)


_SUMMARY_COLUMNS = [
    "condition",
    "system",
    "role",
    "n_listeners",
    "n_ratings",
    "median",
    "q1",
    "q3",
    "iqr",
    "mean",
]
_FRIEDMAN_COLUMNS = ["condition", "n_blocks", "n_systems", "statistic", "p"]
_PAIRWISE_COLUMNS = [
    "condition",
    "system",
    "versus",
    "n_blocks",
    "median_difference",
    "statistic",
    "p",
    "p_holm",
]
_AFC_COLUMNS = ["condition", "system", "n", "n_correct", "accuracy", "p"]


def _check_baselines(baselines, systems):
    """The baselines given, or those whose name matches :data:`BASELINE_PATTERN`."""
    if baselines is None:
        return [s for s in systems if BASELINE_PATTERN.search(s)]
    unknown = sorted(set(baselines) - set(systems))
    if unknown:
        raise ValueError(f"baselines {unknown} were not rated; systems are {systems}.")
    return baselines


def _describe(r):
    """Quartiles and mean of ratings ``r`` (shape (n_ratings,)); NaN when empty."""
    q1, med, q3 = np.percentile(r, [25, 50, 75]) if len(r) else (np.nan,) * 3
    return dict(median=med, q1=q1, q3=q3, iqr=q3 - q1, mean=r.mean() if len(r) else np.nan)


def _afc_test(correct):
    """2AFC accuracy of answers ``correct`` (0/1, shape (n,)), one-sided binomial p vs 0.5."""
    from scipy.stats import binomtest

    k, n = int(correct.sum()), len(correct)
    p = binomtest(k, n, 0.5, alternative="greater").pvalue
    return dict(n=n, n_correct=k, accuracy=k / n, p=p)


def _friedman(complete):
    """Friedman statistic and p over the columns (systems) of ``complete`` blocks."""
    if len(complete.columns) < 3 or len(complete) < 2:
        return np.nan, np.nan
    from scipy.stats import friedmanchisquare

    if not complete.nunique(axis=1).gt(1).any():  # every block ties all systems: no evidence
        return 0.0, 1.0
    res = friedmanchisquare(*(complete[s].to_numpy() for s in complete.columns))
    return float(res.statistic), float(res.pvalue)


def _system_rows(cond, mush, afc_rows, systems, test):
    """Summary rows and 2AFC rows of one condition, one per system rated in it."""
    rows, afc = [], []
    for system in systems:
        rated = mush[mush["system"] == system]
        r = rated["rating"].to_numpy()
        a = afc_rows[afc_rows["system"] == system]
        if not len(r) and not len(a):
            continue
        n_listeners = int(rated["listener"].nunique())
        rows.append(
            dict(
                condition=cond,
                system=system,
                role=_role(system, test),
                n_listeners=n_listeners,
                n_ratings=len(r),
                **_describe(r),
            )
        )
        if len(a):
            afc.append(dict(condition=cond, system=system, **_afc_test(a["correct"])))
    return rows, afc


def _pairwise(cond, blocks, run_systems, baselines):
    """Wilcoxon tests of each run system against each baseline, Holm-corrected together."""
    pairs = []
    for base in baselines:
        for system in run_systems:
            if system != base and base in blocks and (base, system) not in pairs:
                pairs.append((system, base))
    rows = []
    for system, base in pairs:
        both = blocks[[system, base]].dropna()
        x, y = both[system].to_numpy(), both[base].to_numpy()
        stat, p = _wilcoxon(x, y)
        rows.append(
            dict(
                condition=cond,
                system=system,
                versus=base,
                n_blocks=len(both),
                median_difference=float(np.median(x - y)) if len(both) else np.nan,
                statistic=stat,
                p=p,
            )
        )
    for row, padj in zip(rows, holm([r["p"] for r in rows]), strict=True):
        row["p_holm"] = padj
    return rows


def _condition_tests(cond, mush, systems, baselines, test):
    """Friedman row and pairwise rows of one condition's MUSHRA ratings."""
    # Blocks: one listener's trial; a system's clips in a trial are averaged.
    blocks = mush.pivot_table(
        index=["listener", "trial"], columns="system", values="rating", aggfunc="mean"
    )
    run_systems = [s for s in systems if s in blocks and _role(s, test) == "system"]
    complete = blocks[run_systems].dropna()
    stat, p = _friedman(complete)
    friedman = dict(
        condition=cond, n_blocks=len(complete), n_systems=len(run_systems), statistic=stat, p=p
    )
    return friedman, _pairwise(cond, blocks, run_systems, baselines)


def _summary_table(rows, friedman, pairwise, afc, screening, excluded):
    """The summary DataFrame, the 2AFC columns merged in and the other tables in ``attrs``."""
    summary = pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)
    afc = pd.DataFrame(afc, columns=_AFC_COLUMNS)
    summary = summary.merge(
        afc.rename(columns={"n": "afc_n", "accuracy": "afc_accuracy", "p": "afc_p"}).drop(
            columns="n_correct"
        ),
        on=["condition", "system"],
        how="left",
    )
    summary.attrs = dict(
        friedman=pd.DataFrame(friedman, columns=_FRIEDMAN_COLUMNS),
        pairwise=pd.DataFrame(pairwise, columns=_PAIRWISE_COLUMNS),
        afc=afc,
        screening=screening,
        excluded=excluded,
    )
    return summary


def analyze(ratings, test=None, *, screen=True, baselines=None):
    """Statistics of a listening test: medians, Friedman, Wilcoxon (Holm), 2AFC, screening.

    MUSHRA ratings are summarised per condition (listening and imagery are
    never pooled) and system. For the tests, a *block* is one listener's
    trial; a system with several clips in a trial (the GAN for two held-out
    subjects) enters with their mean. The Friedman test compares the run's
    systems (not the hidden reference or the low-pass anchor) over the blocks
    where all were rated; the Wilcoxon signed-rank tests compare each system
    with each baseline (the linear decoder and the nulls), Holm-corrected
    within a condition. 2AFC accuracy is tested against chance (0.5) with a
    one-sided exact binomial test, pooling listeners.

    Parameters
    ----------
    ratings : str | Path | list | pandas.DataFrame
        What :func:`read_ratings` accepts (a test folder, CSV files, a table).
    test : str | Path | dict | None, default=None
        The test folder, see :func:`read_ratings`.
    screen : bool, default=True
        Drop the listeners that :func:`post_screening` excludes.
    baselines : list of str | None, default=None
        Systems to compare the others with; ``None``: the systems whose name
        says linear, shuffled, null, mean-spectrum, baseline, time-shift or
        beat-template.

    Returns
    -------
    summary : pandas.DataFrame
        One row per (condition, system): ``condition``, ``system``, ``role``
        (reference, anchor or system), ``n_listeners``, ``n_ratings``,
        ``median``, ``q1``, ``q3``, ``iqr``, ``mean``, and the 2AFC
        ``afc_n``, ``afc_accuracy``, ``afc_p`` (NaN without 2AFC answers).
        ``summary.attrs`` holds the other results as DataFrames:
        ``"friedman"`` (condition, n_blocks, n_systems, statistic, p),
        ``"pairwise"`` (condition, system, versus, n_blocks,
        median_difference, statistic, p, p_holm), ``"afc"`` (condition,
        system, n, n_correct, accuracy, p) and ``"screening"``
        (:func:`post_screening`), plus ``"excluded"`` (listener codes).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_eeg2music.listening import analyze
    >>> rng = np.random.default_rng(0)
    >>> rows = [dict(listener=f"L{l}", block="mushra", trial=f"t{t}", stimulus="s",
    ...              segment=0, condition="listening", system=s, subject="", clip=s,
    ...              rating=np.clip(m + rng.normal(0, 8), 0, 100).round(), play_count=1,
    ...              time_spent_s=20.0, order_shown=k + 1)
    ...         for l in range(6) for t in range(4)
    ...         for k, (s, m) in enumerate([("Hidden reference", 100), ("GAN", 60),
    ...                                     ("Linear decoder (mel)", 35), ("Shuffled GAN", 30)])]
    >>> summary = analyze(pd.DataFrame(rows))
    >>> summary.set_index("system")["median"].round().tolist()
    [99.0, 62.0, 37.0, 34.0]
    >>> bool(summary.attrs["friedman"]["p"].iloc[0] < 0.001)
    True
    """
    if isinstance(test, (str, Path)):
        test = read_test(test)
    if test is None and isinstance(ratings, (str, Path)) and Path(ratings).is_dir():
        test = read_test(ratings)
    df = read_ratings(ratings, test)
    screening = post_screening(df)
    excluded = screening.loc[screening["excluded"], "listener"].tolist() if screen else []
    df = df[~df["listener"].isin(excluded)]
    mush = df[df["block"] == "mushra"]
    afc_rows = df[df["block"] == "2afc"]
    systems = _system_order(pd.unique(df["system"]), test)
    baselines = _check_baselines(baselines, systems)
    rows, friedman, pairwise, afc = [], [], [], []
    for cond in _conditions(df["condition"]):
        m = mush[mush["condition"] == cond]
        cond_rows, cond_afc = _system_rows(
            cond, m, afc_rows[afc_rows["condition"] == cond], systems, test
        )
        cond_friedman, cond_pairwise = _condition_tests(cond, m, systems, baselines, test)
        rows += cond_rows
        afc += cond_afc
        friedman.append(cond_friedman)
        pairwise += cond_pairwise
    return _summary_table(rows, friedman, pairwise, afc, screening, excluded)


# ---- the HTML summary -------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1200px;padding:1.5rem;color:#1d1d1f;background:#fafafa;line-height:1.45}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
.sub{color:#555}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem}
"""


def _table(df, caption=None):
    if df is None or df.empty:
        return "<p>None.</p>"
    esc = html.escape

    def cell(v):
        if isinstance(v, (bool, np.bool_)):
            return "<td>yes</td>" if v else "<td>no</td>"
        if isinstance(v, (float, np.floating)):
            text = "—" if not np.isfinite(v) else (f"{v:.3g}" if abs(v) < 0.01 else f"{v:.3f}")
            return f"<td class='num'>{text.rstrip('0').rstrip('.') if '.' in text else text}</td>"
        if isinstance(v, (int, np.integer)):
            return f"<td class='num'>{v}</td>"
        return f"<td>{esc(str(v))}</td>"

    head = "".join(f"<th scope='col'>{esc(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in df.itertuples(False))
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def plot_ratings(path, ratings, summary):
    """Boxplots of the MUSHRA ratings: one panel per condition, one box per system.

    Parameters
    ----------
    path : str | Path
        Destination PNG.
    ratings : pandas.DataFrame
        Validated ratings, screened listeners already removed.
    summary : pandas.DataFrame
        :func:`analyze`'s table (gives the conditions and the system order).

    Returns
    -------
    path : Path
        The written PNG.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mush = ratings[ratings["block"] == "mushra"]
    conds = [c for c in pd.unique(summary["condition"]) if (mush["condition"] == c).any()]
    systems = [s for s in pd.unique(summary["system"]) if (mush["system"] == s).any()]
    width = max(5.0, 1.0 + 0.75 * len(systems))
    fig = Figure(figsize=(width * max(1, len(conds)), 4.6), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, max(1, len(conds)), sharey=True, squeeze=False)[0]
    colors = {"reference": "#9e9e9e", "anchor": "#bdbdbd", "system": "#6fa8dc"}
    for ax, cond in zip(axes, conds, strict=False):
        data, labels, roles = [], [], []
        for s in systems:
            r = mush.loc[(mush["condition"] == cond) & (mush["system"] == s), "rating"]
            if len(r):
                data.append(r.to_numpy())
                labels.append(s)
                roles.append(summary.loc[summary["system"] == s, "role"].iloc[0])
        box = ax.boxplot(data, patch_artist=True, widths=0.6, medianprops=dict(color="k"))
        for patch, role in zip(box["boxes"], roles, strict=True):
            patch.set_facecolor(colors.get(role, "#6fa8dc"))
        ax.set_xticks(range(1, len(labels) + 1))
        ax.set_xticklabels([_wrap(lab) for lab in labels], rotation=40, ha="right", fontsize=7)
        ax.set_title(f"{cond}", fontsize=9)
        ax.set_ylim(-2, 102)
        for y in (20, 40, 60, 80):
            ax.axhline(y, color="#ddd", lw=0.6, zorder=0)
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_ylabel("rating (0 bad – 100 excellent)", fontsize=8)
    path = Path(path)
    fig.savefig(path, format="png")
    return path


def _wrap(label, width=22):
    import textwrap

    return "\n".join(textwrap.wrap(label, width)) or label


def _summary_page(test, df, summary, screen, metrics_html):
    """The HTML of ``summary.html``: tables of :func:`analyze`, the run's metrics, screening."""
    from .. import __version__

    esc = html.escape
    attrs = summary.attrs
    n_listeners = df["listener"].nunique()
    excluded = attrs["excluded"]
    body = [
        f"<h1>{esc(test['title'])}: results</h1>",
        f"<p class='sub'>sk_eeg2music {esc(__version__)} · run {esc(test['run'])} · "
        f"test seed {test['seed']}</p>",
        f"<p>{n_listeners} listener(s), {len(df)} answers; "
        f"{len(excluded)} listener(s) excluded by the post-screening"
        f"{'' if screen else ' (not applied here)'}: see the end of the page.</p>",
        "<h2>MUSHRA ratings</h2>",
        "<p>Median and interquartile range (q1–q3) of the ratings per condition and "
        "system; listening and imagery are never pooled.</p>",
        "<img src='ratings.png' alt='boxplots of the ratings per system and condition'>",
        _table(summary.drop(columns=["afc_n", "afc_accuracy", "afc_p"])),
        "<h2>Tests</h2>",
        "<p>Friedman test across the run's systems (blocks: one listener's trial, "
        "complete blocks only).</p>",
        _table(attrs["friedman"]),
        "<p>Wilcoxon signed-rank tests of each system against the linear decoder and the "
        "nulls, Holm-corrected within a condition (p_holm).</p>",
        _table(attrs["pairwise"]),
        "<h2>Identification (2AFC)</h2>",
        "<p>Which of two originals is the same music as the reconstruction? Chance is "
        "0.5; p: one-sided exact binomial test, listeners pooled (answers of one "
        "listener are not independent: read p as descriptive).</p>",
        _table(attrs["afc"]),
        "<h2>Objective metrics of the same run</h2>",
        metrics_html,
        "<h2>Post-screening</h2>",
        "<p>ITU-R BS.1534-3: a listener who rates the hidden reference below 90 in more "
        "than 15 % of the trials is excluded from the listening results above"
        f"{'' if screen else ' (not applied here)'}. Excluded: "
        f"{esc(', '.join(excluded)) if excluded else 'none'}.</p>",
        _table(attrs["screening"]),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(test['title'])}: results</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def write_summary(test_dir, out_dir=None, *, ratings=None, screen=True, baselines=None):
    """Analyse a test's ratings and write an HTML summary with boxplots (``listen-report``).

    Parameters
    ----------
    test_dir : str | Path
        A test folder written by :func:`make_test`; its ``ratings/*.csv`` are read.
    out_dir : str | Path | None, default=None
        Where to write; ``None``: ``test_dir/summary``. Written atomically.
    ratings : list of (str | Path) | None, default=None
        Ratings files to read instead of ``test_dir/ratings/*.csv``.
    screen : bool, default=True
        Apply the post-screening (see :func:`analyze`).
    baselines : list of str | None, default=None
        See :func:`analyze`.

    Returns
    -------
    page : Path
        ``summary.html``; beside it ``ratings.png`` (boxplots) and the tables as
        CSV files (``summary.csv``, ``friedman.csv``, ``pairwise.csv``,
        ``afc.csv``, ``screening.csv``).
    summary : pandas.DataFrame
        What :func:`analyze` returned.
    """
    from .._io import atomic_output_dir

    test_dir = Path(test_dir).expanduser()
    test = read_test(test_dir)
    df = read_ratings(test_dir if ratings is None else ratings, test)
    summary = analyze(df, test, screen=screen, baselines=baselines)
    attrs = summary.attrs
    kept = df[~df["listener"].isin(attrs["excluded"])]
    out = Path(out_dir) if out_dir is not None else test_dir / "summary"
    metrics_html = "<p>The run's folder held no metrics table.</p>"
    if (test_dir / "run_metrics.csv").is_file():
        metrics = pd.read_csv(test_dir / "run_metrics.csv")
        metrics_html = _table(metrics)
    with atomic_output_dir(out) as tmp:
        plot_ratings(tmp / "ratings.png", kept, summary)
        summary.to_csv(tmp / "summary.csv", index=False)
        for name in ("friedman", "pairwise", "afc", "screening"):
            attrs[name].to_csv(tmp / f"{name}.csv", index=False)
        page = _summary_page(test, df, summary, screen, metrics_html)
        (tmp / "summary.html").write_text(page, encoding="utf-8")
    return out.resolve() / "summary.html", summary
