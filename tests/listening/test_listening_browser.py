"""A simulated listener takes a listening test in headless Chromium.

Debian's ``chromium`` driven by Playwright through ``executable_path``, as in
``tests/test_report_browser.py``: skipped locally without it, failed in CI.
The listener plays every sound, rates every version by its similarity to the
reference (the hidden reference, a byte-identical copy, gets 100), answers
the 2AFC block, and downloads the CSV; the test then rebuilds every expected
row from ``test.json`` and the seeded order (recomputed in Python), so a row
missing, extra, misattributed or out of order fails.
"""

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from _listening_helpers import CHROMIUM_ARGS

from sk_eeg2music.listening import COLUMNS, make_test, presentation_order, serve

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LISTENER = "L07"


def _similarity_rating(test_dir, ref, clip):
    """100 for an exact copy of the reference, else 95 x correlation (rounded, >= 0)."""
    a, b = (test_dir / ref).read_bytes(), (test_dir / clip).read_bytes()
    if a == b:
        return 100
    x, _ = sf.read(test_dir / ref)
    y, _ = sf.read(test_dir / clip)
    return int(round(95 * max(0.0, np.corrcoef(x, y)[0, 1])))


@pytest.fixture(scope="module")
def context(chromium, tmp_path_factory):
    """One headless Chromium for the module (a launch costs seconds)."""
    sync_api, executable = chromium
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1000, "height": 900},
            accept_downloads=True,
        )
        try:
            yield ctx
        finally:
            ctx.close()


def _srcs(page):
    return page.evaluate(
        "[...document.querySelectorAll('#players audio')].map(a => a.getAttribute('src'))"
    )


def _take_test(page, test_dir, test, *, check_refusal=True, check_sync=True, keyboard=True):
    """Go through every screen; returns {trial id: {clip id: rating}} as rated."""
    page.fill("#listener", LISTENER)
    page.click("#start")
    given = {}
    for k in range(len(test["mushra"])):
        page.wait_for_selector(f"h2:has-text('Trial {k + 1} of {len(test['mushra'])}')")
        ref, *clips = _srcs(page)
        letters = [chr(65 + j) for j in range(len(clips))]
        page.click("#play-ref")
        for j, letter in enumerate(letters):
            page.click(f"#play-{letter}")
            if check_sync and k == 0 and j == 0:
                # Let A play past 0.3 s; switching to B must continue from there.
                page.wait_for_function(
                    "document.querySelectorAll('#players audio')[1].currentTime > 0.3",
                    timeout=10_000,
                )
            if check_sync and k == 0 and j == 1:
                at_b = page.evaluate("document.querySelectorAll('#players audio')[2].currentTime")
                assert at_b > 0.25, f"B started at {at_b:.2f} s, not where A was"
        page.click("#stop")
        ratings = [_similarity_rating(test_dir, ref, c) for c in clips]
        by_keyboard = keyboard and k == 1
        if by_keyboard:  # few key presses: 100 for the copy, else 1, 2, ...
            ratings = [100 if r == 100 else j + 1 for j, r in enumerate(ratings)]
        for j, (letter, value) in enumerate(zip(letters, ratings, strict=True)):
            if check_refusal and k == 0 and j == len(letters) - 1:
                page.click("#next")  # one version still unrated: refused
                alert = page.inner_text("#alert")
                assert f"{letter} is not rated" in alert, alert
                assert page.is_visible("h2:has-text('Trial 1 of')")
                assert page.evaluate("document.activeElement.id") == f"rate-{letter}"
            if by_keyboard:
                # Keyboard only: Tab-reachable slider, End = 100, Home = 0, arrows +1.
                page.focus(f"#rate-{letter}")
                page.keyboard.press("End" if value == 100 else "Home")
                for _ in range(value if value < 100 else 0):
                    page.keyboard.press("ArrowRight")
            else:
                page.fill(f"#rate-{letter}", str(value))
            assert page.input_value(f"#rate-{letter}") == str(value)
        if k == 0:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "listening-trial.png"), full_page=True)
        order = presentation_order(test, LISTENER)
        tid = order["mushra"][k]
        given[tid] = dict(zip(order["clips"][tid], ratings, strict=True))
        page.click("#next")
    for k in range(len(test["afc"])):
        page.wait_for_selector(f"h2:has-text('Question {k + 1} of')")
        for key in ("X", "A", "B"):
            page.click(f"#play-{key}")
        page.click("#stop")
        if k == 0 and check_refusal:
            page.click("#next")
            assert "Choose A or B" in page.inner_text("#alert")
        page.check("#choice-A")
        page.click("#next")
    page.wait_for_selector("#download")
    return given


def _expected(test, given):
    """Every row the page must write, from test.json and the recomputed order."""
    order = presentation_order(test, LISTENER)
    trials = {t["id"]: t for t in test["mushra"]}
    rows = []
    for pos, tid in enumerate(order["mushra"], start=1):
        trial = trials[tid]
        clips = {c["id"]: c for c in trial["clips"]}
        for shown, cid in enumerate(order["clips"][tid], start=1):
            rows.append(
                dict(
                    listener=LISTENER,
                    seed=order["seed"],
                    block="mushra",
                    trial=tid,
                    trial_position=pos,
                    stimulus=trial["stimulus"],
                    segment=trial["segment"],
                    condition=trial["condition"],
                    system=clips[cid]["system"],
                    subject=clips[cid]["subject"],
                    clip=cid,
                    rating=given[tid][cid],
                    choice="",
                    correct="",
                    play_count=1,
                    order_shown=shown,
                )
            )
    afc = {t["id"]: t for t in test["afc"]}
    for pos, tid in enumerate(order["afc"], start=1):
        t = afc[tid]
        target = order["afc_target"][tid]
        rows.append(
            dict(
                listener=LISTENER,
                seed=order["seed"],
                block="2afc",
                trial=tid,
                trial_position=pos,
                stimulus=t["stimulus"],
                segment=t["segment"],
                condition=t["condition"],
                system=t["system"],
                subject=t["subject"],
                clip=t["clip"],
                rating="",
                choice="A",
                correct=int(target == "A"),
                play_count=3,
                order_shown=1 if target == "A" else 2,
            )
        )
    return pd.DataFrame(rows).astype(str)


def _check_csv(path, test, given):
    got = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(got.columns) == COLUMNS
    spent = got.pop("time_spent_s").astype(float)
    assert (spent >= 0).all() and (spent[got["block"] == "mushra"] > 0).all()
    expected = _expected(test, given)[[c for c in COLUMNS if c != "time_spent_s"]]
    pd.testing.assert_frame_equal(got, expected)
    mushra = got[got["block"] == "mushra"]
    # The listener found the hidden reference by ear (an identical copy): where
    # the rating is 100 the page recorded the hidden reference, and only there.
    hundred = mushra["rating"] == "100"
    assert (mushra.loc[hundred, "system"] == "Hidden reference").all()
    assert hundred.sum() == len(test["mushra"])
    return got


def test_simulated_listener_from_file(context, tiny_run, tmp_path):
    """Offline (file://): every sound played, every slider moved, the CSV downloaded."""
    test_dir = make_test(tiny_run(layout="report"), tmp_path / "test", seed=3).parent
    test = json.loads((test_dir / "test.json").read_text())
    page = context.new_page()
    try:
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((test_dir / "index.html").as_uri(), wait_until="load")
        given = _take_test(page, test_dir, test)
        assert "only kept if you download" in page.inner_text("#status")
        with page.expect_download() as info:
            page.click("#download")
        download = info.value
        assert download.suggested_filename.startswith(f"ratings_{LISTENER}_")
        path = tmp_path / "ratings.csv"
        download.save_as(path)
    finally:
        page.close()
    assert not errors
    _check_csv(path, test, given)


def test_simulated_listener_served(context, tiny_run, tmp_path):
    """Over ``listen --serve``: the page posts its CSV and the server stores it."""
    test_dir = make_test(tiny_run(), tmp_path / "test", seed=5, afc=False).parent
    test = json.loads((test_dir / "test.json").read_text())
    server = serve(test_dir, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/", wait_until="load")
        given = _take_test(
            page, test_dir, test, check_refusal=False, check_sync=False, keyboard=False
        )
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('Saved')",
            timeout=10_000,
        )
        status = page.inner_text("#status")
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    stored = sorted((test_dir / "ratings").glob("*.csv"))
    assert [p.name for p in stored] == [status.split(" as ")[1].rstrip(".")]
    _check_csv(stored[0], test, given)
