"""eeg2music listen / listen-report through the package's command line."""

import pytest
from _listening_helpers import simulated_ratings, write_ratings

from sk_eeg2music.cli import main
from sk_eeg2music.listening import read_test


def test_listen_then_report(tiny_run, tmp_path, capsys):
    out = tmp_path / "test"
    assert main(["listen", "--from", str(tiny_run()), "--out", str(out), "--seed", "2"]) == 0
    assert f"listening test: {out / 'index.html'}" in capsys.readouterr().out
    test = read_test(out)
    assert test["seed"] == 2 and test["afc"]
    write_ratings(out / "ratings" / "a.csv", simulated_ratings(test, ["L01", "L02", "L03"]))
    assert main(["listen-report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Friedman (listening)" in printed and "post-screening excluded: none" in printed
    assert (out / "summary" / "summary.html").is_file()


def test_listen_options(tiny_run, tmp_path):
    out = tmp_path / "test"
    args = ["listen", "--from", str(tiny_run()), "--out", str(out), "--no-afc"]
    assert main([*args, "--anchor-hz", "3000"]) == 0
    test = read_test(out)
    assert test["afc"] == [] and test["anchor_hz"] == 3000
    assert "Anchor (3 kHz low-pass)" in test["systems"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["listen", "--out", "x"], "pass --from RUN_DIR"),
        (["listen", "--from", "no-such-run", "--out", "x"], "is not a folder"),
        (["listen-report", "no-such-test"], "not a listening test"),
    ],
)
def test_listen_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_listen_report_without_ratings(tiny_run, tmp_path, capsys):
    out = tmp_path / "test"
    assert main(["listen", "--from", str(tiny_run()), "--out", str(out)]) == 0
    assert main(["listen-report", str(out)]) == 2
    assert "holds no ratings CSV yet" in capsys.readouterr().err


def test_listen_serve(tiny_run, tmp_path, monkeypatch, capsys):
    import http.server

    served = []

    def fake_serve_forever(self, *args, **kwargs):
        served.append(self.server_address)
        raise KeyboardInterrupt  # what Ctrl-C does to the real one

    monkeypatch.setattr(http.server.ThreadingHTTPServer, "serve_forever", fake_serve_forever)
    out = tmp_path / "test"
    argv = ["listen", "--from", str(tiny_run()), "--out", str(out), "--serve", "--port", "0"]
    assert main(argv) == 0
    assert served[0][0] == "127.0.0.1"
    assert f"serving {out} on http://127.0.0.1:{served[0][1]}/" in capsys.readouterr().out
    # An existing test is served without --from.
    assert main(["listen", "--out", str(out), "--serve", "--port", "0"]) == 0
    assert len(served) == 2
