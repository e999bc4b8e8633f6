"""analyze, read_ratings, post_screening, write_summary: synthetic ratings, known effect."""

import math

import numpy as np
import pandas as pd
import pytest
from _listening_helpers import simulated_ratings, write_ratings
from scipy.stats import friedmanchisquare, wilcoxon

from sk_eeg2music.listening import (
    COLUMNS,
    analyze,
    make_test,
    post_screening,
    read_ratings,
    read_test,
    write_summary,
)

LISTENERS = [f"L{k:02d}" for k in range(1, 11)]
GAN, LINEAR, SHUFFLED = "GAN", "Linear decoder (mel)", "Shuffled-pairs GAN (null control)"


@pytest.fixture
def rated_test(tiny_run, tmp_path):
    """A test (2 stimuli x 2 conditions) rated by 10 simulated listeners; L10 misses twice."""
    out = make_test(tiny_run(conditions=("listening", "imagery")), tmp_path / "test").parent
    test = read_test(out)
    rows = simulated_ratings(test, LISTENERS, hidden_miss={"L10": 2})
    write_ratings(out / "ratings" / "part1.csv", [r for r in rows if r["listener"] < "L06"])
    write_ratings(out / "ratings" / "part2.csv", [r for r in rows if r["listener"] >= "L06"])
    return out, test, pd.DataFrame(rows)


def _holm(p):
    """Textbook Holm for a small family, written out independently."""
    order = np.argsort(p)
    m, adjusted, running = len(p), np.empty(len(p)), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def test_analyze_known_effect(rated_test):
    out, test, rows = rated_test
    summary = analyze(out)
    kept = rows[(rows.block == "mushra") & (rows.listener != "L10")].astype({"rating": float})
    assert summary.attrs["excluded"] == ["L10"]
    assert set(summary.condition) == {"listening", "imagery"}
    for cond in ("listening", "imagery"):
        s = summary[summary.condition == cond].set_index("system")
        r = kept[kept.condition == cond]
        for system, ratings in r.groupby("system")["rating"]:
            assert s.loc[system, "median"] == np.median(ratings)
            assert s.loc[system, "q1"] == np.quantile(ratings, 0.25)
            assert s.loc[system, "iqr"] == np.quantile(ratings, 0.75) - np.quantile(ratings, 0.25)
            assert s.loc[system, "n_listeners"] == 9
        assert s.loc["Hidden reference", "median"] == 100
        assert s.loc[GAN, "median"] > s.loc[LINEAR, "median"] + 15
        # Friedman over the run's three systems, blocks = (listener, trial).
        blocks = r.pivot_table(index=["listener", "trial"], columns="system", values="rating")
        expected = friedmanchisquare(*(blocks[k] for k in (GAN, LINEAR, SHUFFLED)))
        fr = summary.attrs["friedman"].set_index("condition").loc[cond]
        assert fr["n_blocks"] == 9 * 2 and fr["n_systems"] == 3
        assert fr["statistic"] == pytest.approx(expected.statistic)
        assert fr["p"] == pytest.approx(expected.pvalue) and fr["p"] < 1e-4
        # Wilcoxon against the baselines (linear, shuffled), Holm within the condition.
        pw = summary.attrs["pairwise"]
        pw = pw[pw.condition == cond]
        pairs = list(zip(pw.system, pw.versus, strict=True))
        assert sorted(pairs) == sorted([(GAN, LINEAR), (SHUFFLED, LINEAR), (GAN, SHUFFLED)])
        raw = np.array([wilcoxon(blocks[a], blocks[b]).pvalue for a, b in pairs])
        np.testing.assert_allclose(pw.p, raw)
        np.testing.assert_allclose(pw.p_holm, _holm(raw))
        gan_lin = pw[(pw.system == GAN) & (pw.versus == LINEAR)].iloc[0]
        assert gan_lin.p_holm < 0.01
        # The simulated effect is 70 - 40 = 30; noise sd 10 per rating.
        assert abs(gan_lin.median_difference - 30) < 10


def test_analyze_afc(rated_test):
    out, test, rows = rated_test
    summary = analyze(out)
    afc = summary.attrs["afc"].set_index(["condition", "system"])
    for cond in ("listening", "imagery"):
        n = 9 * 2  # kept listeners x trials with a GAN clip in this condition
        gan = afc.loc[(cond, GAN)]
        assert (gan.n, gan.n_correct, gan.accuracy) == (n, n, 1.0)
        assert gan.p == pytest.approx(0.5**n)
        assert afc.loc[(cond, LINEAR)].accuracy == 0 and afc.loc[(cond, LINEAR)].p == 1.0
        row = summary[(summary.condition == cond) & (summary.system == GAN)].iloc[0]
        assert row.afc_accuracy == 1.0 and row.afc_n == n


def test_binomial_p_against_exact_sum():
    rows = []
    for k in range(40):
        rows.append(
            dict(
                listener="L01",
                block="2afc",
                trial=f"x{k}",
                stimulus="s",
                segment=0,
                condition="listening",
                system=GAN,
                subject="",
                clip=f"c{k}",
                rating="",
                choice="A",
                correct=int(k < 30),
                play_count=3,
                time_spent_s=2.0,
                order_shown=1,
            )
        )
    afc = analyze(pd.DataFrame(rows)).attrs["afc"].iloc[0]
    exact = sum(math.comb(40, i) for i in range(30, 41)) / 2**40
    assert afc.accuracy == 0.75 and afc.p == pytest.approx(exact, rel=1e-9)


def test_post_screening_threshold():
    def listener(name, misses, n=20):
        return [
            dict(
                listener=name,
                block="mushra",
                trial=f"t{k}",
                system="Hidden reference",
                rating=89.0 if k < misses else 90.0,
            )
            for k in range(n)
        ]

    ratings = pd.DataFrame(listener("A", 3) + listener("B", 4) + listener("C", 0))
    screening = post_screening(ratings).set_index("listener")
    # 3 of 20 = 15 %: not *more* than 15 %; 90 itself is not below 90.
    assert screening.loc["A", "fraction_below"] == 0.15 and not screening.loc["A", "excluded"]
    assert screening.loc["B", "excluded"] and not screening.loc["C", "excluded"]


def test_screening_can_be_off(rated_test):
    out, _, _ = rated_test
    summary = analyze(out, screen=False)
    assert summary.attrs["excluded"] == []
    assert summary.attrs["screening"].set_index("listener").loc["L10", "excluded"]
    assert summary.n_listeners.max() == 10


def test_read_ratings_sources(rated_test):
    out, test, rows = rated_test
    from_dir = read_ratings(out)
    assert len(from_dir) == len(rows) and list(from_dir.columns) == COLUMNS
    # A CSV inside TEST_DIR/ratings finds its test: unknown systems are refused.
    part = read_ratings(out / "ratings" / "part1.csv")
    assert set(part.listener) == {f"L0{k}" for k in range(1, 6)}
    assert len(read_ratings([out / "ratings" / "part1.csv", out / "ratings" / "part2.csv"])) == len(
        rows
    )


def _corrupt(out, edit):
    path = out / "ratings" / "part1.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = edit(df)
    bad = out / "ratings" / "bad.csv"
    df.to_csv(bad, index=False)
    return bad


def _set(col, value, row=2):
    def edit(df):
        df.loc[row, col] = value
        return df

    return edit


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda df: df.drop(columns="rating"),
            r"bad.csv: the header lacks the column\(s\) \['rating'\]",
        ),
        (_set("rating", "120"), r"bad.csv, row 3 \(line 4\): rating '120' is outside 0-100"),
        (_set("rating", "-1"), r"row 3 \(line 4\): rating '-1' is outside 0-100"),
        (_set("rating", ""), r"row 3 \(line 4\): rating '' is outside 0-100"),
        (_set("system", "WaveNet"), r"row 3 \(line 4\): unknown system 'WaveNet'"),
        (_set("trial", "t99"), r"row 3 \(line 4\): unknown mushra trial 't99'"),
        (_set("play_count", "-2"), r"row 3 \(line 4\): play_count '-2' is not a non-negative"),
        (_set("block", "abx"), r"row 3 \(line 4\): block 'abx'"),
        (_set("listener", ""), r"row 3 \(line 4\): the listener code is empty"),
        (_set("time_spent_s", "soon"), r"row 3 \(line 4\): time_spent_s 'soon'"),
        (lambda df: pd.concat([df, df.iloc[[4]]]), r"row \d+ \(line \d+\): a second answer"),
        (_set("seed", "12345"), r"row 3 \(line 4\): seed 12345 is not this test's order seed"),
    ],
)
def test_malformed_ratings_name_the_row(rated_test, edit, match):
    out, _, _ = rated_test
    bad = _corrupt(out, edit)
    with pytest.raises(ValueError, match=match):
        read_ratings(bad)


def test_malformed_afc_row(rated_test):
    out, _, _ = rated_test

    def edit(df):
        i = int(np.flatnonzero(df.block == "2afc")[0])
        df.loc[i, "correct"] = "yes"
        return df

    with pytest.raises(ValueError, match="a 2afc row needs correct 0 or 1; got 'yes'"):
        read_ratings(_corrupt(out, edit))


def test_read_ratings_refuses_empty_test(tiny_run, tmp_path):
    out = make_test(tiny_run(), tmp_path / "test").parent
    with pytest.raises(ValueError, match="holds no ratings CSV yet"):
        read_ratings(out)
    with pytest.raises(ValueError, match="baselines"):
        analyze(
            pd.DataFrame(
                [
                    dict(
                        listener="L1",
                        trial="t1",
                        stimulus="s",
                        segment=0,
                        condition="c",
                        system=GAN,
                        rating=5,
                        play_count=0,
                        time_spent_s=1,
                        order_shown=1,
                    )
                ]
            ),
            baselines=["nope"],
        )


def test_write_summary(rated_test, tmp_path):
    out, _, _ = rated_test
    page, summary = write_summary(out)
    assert page == (out / "summary" / "summary.html").resolve()
    html = page.read_text()
    for text in (
        "Friedman",
        "Wilcoxon",
        "2AFC",
        "Objective metrics",
        "GAN (EEG2MusicGAN)",
        "L10",
        "ratings.png",
    ):
        assert text in html, text
    assert (page.parent / "ratings.png").read_bytes()[1:4] == b"PNG"
    for name in ("summary", "friedman", "pairwise", "afc", "screening"):
        assert (page.parent / f"{name}.csv").is_file()
    again = pd.read_csv(page.parent / "summary.csv")
    np.testing.assert_allclose(again["median"], summary["median"])
