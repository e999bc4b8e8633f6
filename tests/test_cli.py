import subprocess
import sys

import pytest

from sk_eeg2music.cli import build_parser, main


def test_help_lists_demo():
    assert "demo" in build_parser().format_help()


def test_unknown_kind_exits_nonzero():
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--kind", "fmri"])
    assert exc.value.code != 0


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "sk_eeg2music", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in out.stdout
