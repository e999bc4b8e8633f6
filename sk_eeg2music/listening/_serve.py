"""A local server for a listening test that stores the ratings in ``TEST_DIR/ratings/``.

Bound to 127.0.0.1 only. ``GET`` serves the test folder; ``POST /ratings``
takes the page's CSV, validates it against the test
(:func:`~sk_eeg2music.listening.read_ratings`) and writes it under a new
name. Requests whose ``Host`` is not this loopback server (DNS rebinding) or
whose ``Origin`` is another site are refused, and the body must be
``text/csv``, which a foreign page cannot send without a CORS preflight this
server never grants.
"""

import datetime
import functools
import http.server
import io
import json
import os
import re
import tempfile
import threading
from pathlib import Path

import pandas as pd

from ._analyze import read_ratings
from ._build import read_test

#: Largest ratings upload accepted (bytes).
MAX_BYTES = 5_000_000
HOST = "127.0.0.1"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files of the test folder, plus ``POST /ratings``."""

    def __init__(self, *args, test_dir, test, quiet, **kwargs):
        self.test_dir, self.test, self.quiet = test_dir, test, quiet
        super().__init__(*args, directory=str(test_dir), **kwargs)

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if not self.quiet:
            super().log_message(format, *args)

    def end_headers(self):
        # The page is the only client; nothing here is for caching or framing elsewhere.
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def _allowed_origin(self):
        port = self.server.server_address[1]
        hosts = {f"{HOST}:{port}", f"localhost:{port}"}
        if self.headers.get("Host", "") not in hosts:
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin in {f"http://{h}" for h in hosts}

    def _reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (the base class's name)
        if not self._allowed_origin():
            return self._reply(403, {"error": "this server answers its own page only"})
        return super().do_GET()

    def do_HEAD(self):  # noqa: N802
        if not self._allowed_origin():
            return self._reply(403, {"error": "this server answers its own page only"})
        return super().do_HEAD()

    def do_POST(self):  # noqa: N802
        if self.path.split("?")[0] != "/ratings":
            return self._reply(404, {"error": "POST the ratings to /ratings"})
        if not self._allowed_origin():
            return self._reply(403, {"error": "this server answers its own page only"})
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "text/csv":
            return self._reply(415, {"error": "send the ratings as text/csv"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._reply(411, {"error": "Content-Length is required"})
        if not 0 < length <= MAX_BYTES:
            return self._reply(413, {"error": f"the ratings must be 1 to {MAX_BYTES} bytes"})
        text = self.rfile.read(length).decode("utf-8", errors="replace")
        try:
            raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            ratings = read_ratings(raw, self.test)
        except (ValueError, pd.errors.ParserError) as exc:
            return self._reply(400, {"error": str(exc)})
        if ratings.empty:
            return self._reply(400, {"error": "the CSV holds no ratings"})
        name = _store(self.test_dir / "ratings", ratings["listener"].iloc[0], text)
        return self._reply(200, {"saved": name})


_lock = threading.Lock()


def _store(folder, listener, text):
    """Write the CSV under a new name (never replacing a file); returns the name."""
    folder.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", str(listener))[:32] or "listener"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    with _lock:
        n = 0
        while True:
            name = f"ratings_{safe}_{stamp}{f'_{n}' if n else ''}.csv"
            if not (folder / name).exists():
                break
            n += 1
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".csv", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, folder / name)
    return name


def serve(test_dir, port=8000, *, quiet=False):
    """Make (but do not start) the local server of a listening test.

    Parameters
    ----------
    test_dir : str | Path
        A folder written by :func:`~sk_eeg2music.listening.make_test`.
    port : int, default=8000
        TCP port on 127.0.0.1; 0 picks a free one.
    quiet : bool, default=False
        Do not log requests to standard error.

    Returns
    -------
    server : http.server.ThreadingHTTPServer
        Call ``server.serve_forever()`` (``eeg2music listen --serve`` does) and
        open ``http://127.0.0.1:<server.server_port>/``; ``server.server_close()``
        frees the port.

    Examples
    --------
    >>> from sk_eeg2music.listening import serve
    >>> try:
    ...     serve("no-such-test", port=0)
    ... except ValueError:
    ...     print("refused: not a test folder")
    refused: not a test folder
    """
    test_dir = Path(test_dir).expanduser().resolve()
    test = read_test(test_dir)
    (test_dir / "ratings").mkdir(exist_ok=True)
    handler = functools.partial(_Handler, test_dir=test_dir, test=test, quiet=quiet)
    return http.server.ThreadingHTTPServer((HOST, int(port)), handler)
