"""listen --serve: the page and POST /ratings on 127.0.0.1 only, validated, never overwriting."""

import http.client
import io
import json
import threading

import pandas as pd
import pytest
from _listening_helpers import simulated_ratings

from sk_eeg2music.listening import COLUMNS, make_test, read_test, serve


@pytest.fixture
def server(tiny_run, tmp_path):
    out = make_test(tiny_run(), tmp_path / "test").parent
    srv = serve(out, port=0, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv, out
    finally:
        srv.shutdown()
        srv.server_close()


def _request(srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _csv(out, listener="L01"):
    rows = simulated_ratings(read_test(out), [listener])
    return pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False).encode()


def test_binds_loopback_only(server):
    srv, _ = server
    assert srv.server_address[0] == "127.0.0.1"


def test_serves_the_page(server):
    srv, _ = server
    status, body = _request(srv, "GET", "/")
    assert status == 200 and b"test.js" in body
    status, body = _request(srv, "GET", "/test.js")
    assert status == 200 and body.startswith(b"window.LISTENING_TEST")


def test_post_stores_ratings(server):
    srv, out = server
    body = _csv(out)
    names = []
    for _ in range(2):  # a second upload never replaces the first
        status, reply = _request(srv, "POST", "/ratings", body, {"Content-Type": "text/csv"})
        assert status == 200, reply
        names.append(json.loads(reply)["saved"])
    assert len(set(names)) == 2 and all(n.startswith("ratings_L01_") for n in names)
    for name in names:
        assert (out / "ratings" / name).read_bytes() == body


@pytest.mark.parametrize(
    "path, headers, body, status, message",
    [
        ("/ratings", {"Content-Type": "text/plain"}, None, 415, "text/csv"),
        (
            "/ratings",
            {"Content-Type": "text/csv", "Origin": "http://evil.example"},
            None,
            403,
            "own page",
        ),
        ("/ratings", {"Content-Type": "text/csv", "Host": "evil.example"}, None, 403, "own page"),
        ("/other", {"Content-Type": "text/csv"}, None, 404, "/ratings"),
        (
            "/ratings",
            {"Content-Type": "text/csv"},
            b"listener,rating\nL01,5\n",
            400,
            "lacks the column",
        ),
    ],
)
def test_post_refused(server, path, headers, body, status, message):
    srv, out = server
    got, reply = _request(srv, "POST", path, body if body is not None else _csv(out), headers)
    assert got == status
    assert message in json.loads(reply)["error"]
    assert list((out / "ratings").iterdir()) == []


def test_post_names_the_bad_row(server):
    srv, out = server
    df = pd.read_csv(io.BytesIO(_csv(out)), dtype=str, keep_default_na=False)
    df.loc[1, "rating"] = "250"
    status, reply = _request(
        srv, "POST", "/ratings", df.to_csv(index=False).encode(), {"Content-Type": "text/csv"}
    )
    assert status == 400
    assert json.loads(reply)["error"] == "row 2: rating '250' is outside 0-100."


def test_get_from_foreign_host_refused(server):
    srv, _ = server
    status, _ = _request(srv, "GET", "/test.json", headers={"Host": "attacker.example:80"})
    assert status == 403


def test_serve_refuses_other_folders(tmp_path):
    with pytest.raises(ValueError, match="not a listening test"):
        serve(tmp_path, port=0)
