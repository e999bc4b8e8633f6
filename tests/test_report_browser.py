"""Open a written report in headless Chromium: every player loads, every image renders.

Uses Debian's ``chromium`` (``make browser-deps`` installs it) driven by
Playwright through ``executable_path``; Playwright's own browser downloads are
never used. Without Chromium the test is skipped locally and fails in CI
(``CI`` set), where the browser is part of the test setup.
"""

import functools
import http.server
import threading
from pathlib import Path

import pytest

from sk_eeg2music.report import write_report

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SFREQ = 8000
SECONDS = 1.5


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_report(tmp_path, make_audio):
    """A small report (2 stimuli x 2 conditions x 2 clips) served over http on 127.0.0.1."""
    n_audio = int(SECONDS * SFREQ)
    audio = make_audio(n_trials=8, n_audio=n_audio, sfreq=SFREQ)
    items = [
        dict(
            stimulus=stim,
            segment=1,
            condition=cond,
            original=audio[2 * k],
            reconstructions=[dict(label="model <A> & co", audio=audio[2 * k + 1])],
        )
        for k, (stim, cond) in enumerate(
            [(s, c) for s in ("chor-096", "chor-038") for c in ("listening", "imagery")]
        )
    ]
    metrics = [dict(model="model <A> & co", split="held-out segments", mel_r=0.1, chance=0.0)]
    out = tmp_path / "report"
    write_report(out, items, metrics, sfreq=SFREQ, split_description="test split")
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/report.html", len(items) * 2
    finally:
        server.shutdown()
        server.server_close()


def test_report_media_load_in_chromium(chromium, served_report, tmp_path):
    sync_api, executable = chromium
    url, n_clips = served_report
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.new_page()
            page.goto(url, wait_until="load")
            # readyState >= 1 (HAVE_METADATA) means the duration is known; a
            # media error also ends the wait so it is reported below, not as a timeout.
            page.wait_for_function(
                "[...document.querySelectorAll('audio')].every(a => a.readyState >= 1 || a.error)",
                timeout=20_000,
            )
            audios = page.evaluate(
                "[...document.querySelectorAll('audio')].map(a => "
                "({src: a.currentSrc, duration: a.duration, error: a.error && a.error.code}))"
            )
            images = page.evaluate(
                "[...document.querySelectorAll('img')].map(i => "
                "({src: i.currentSrc, complete: i.complete, width: i.naturalWidth}))"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            context.close()

    assert len(audios) == n_clips
    assert len(images) == n_clips
    for a in audios:
        assert a["error"] is None, a
        assert a["duration"] == pytest.approx(SECONDS, abs=0.01), a
    for i in images:
        assert i["complete"] and i["width"] > 0, i
    assert (ARTIFACTS / "report.png").stat().st_size > 0
