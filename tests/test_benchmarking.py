"""The benchmark scripts' shared helpers: marker blocks, markdown tables, labels."""

import numpy as np
import pandas as pd
import pytest

from sk_eeg2music.benchmarking import (
    command_line,
    cpu_model,
    device_label,
    format_number,
    format_p_value,
    machine_label,
    markdown_table,
    replace_block,
    write_block,
)


def test_replace_block_keeps_surroundings():
    doc = "# T\n\nbefore\n<!-- speed -->\nold table\n<!-- /speed -->\nafter\n"
    out = replace_block(doc, "speed", "new table")
    assert out == "# T\n\nbefore\n<!-- speed -->\nnew table\n<!-- /speed -->\nafter\n"
    # Another marker block is left alone; a missing one is appended.
    both = replace_block(out, "quality", "q")
    assert both.startswith(out.rstrip())
    assert both.endswith("<!-- quality -->\nq\n<!-- /quality -->\n")
    again = replace_block(both, "speed", "x")
    assert again.count("<!-- speed -->") == 1
    assert "<!-- quality -->\nq\n" in again


def test_replace_block_does_not_match_a_longer_marker_name():
    # "quality" must not rewrite the "quality-cuda" block.
    doc = "<!-- quality-cuda -->\ngpu\n<!-- /quality-cuda -->\n"
    out = replace_block(doc, "quality", "cpu")
    assert out.startswith(doc.rstrip()) and "gpu" in out
    assert out.endswith("<!-- quality -->\ncpu\n<!-- /quality -->\n")


@pytest.mark.parametrize("marker", ["", "a -->", "a\nb"])
def test_replace_block_rejects_markers_that_break_the_comment(marker):
    with pytest.raises(ValueError, match="marker"):
        replace_block("doc", marker, "text")


def test_write_block_creates_then_replaces(tmp_path):
    path = tmp_path / "new.md"
    assert write_block(path, "speed", "t") == path
    assert path.read_text() == "<!-- speed -->\nt\n<!-- /speed -->\n"
    path.write_text("# B\n\n" + path.read_text() + "\nend\n")
    write_block(path, "speed", "u")
    assert path.read_text() == "# B\n\n<!-- speed -->\nu\n<!-- /speed -->\n\nend\n"


def test_markdown_table_one_row_per_frame_row_with_escaped_cells():
    frame = pd.DataFrame({"model": ["gan", "a|b", "two\nlines"], "r": [0.1, np.nan, 2]})
    lines = markdown_table(frame).splitlines()
    assert lines[0] == "| model | r |"
    assert lines[1] == "|---|---|"
    assert lines[2:] == ["| gan | 0.1 |", "| a\\|b | nan |", "| two lines | 2.0 |"]


def test_markdown_table_index_and_empty_frame():
    frame = pd.DataFrame({"r": [1]}, index=pd.Index(["gan"], name="model"))
    assert markdown_table(frame, index=True).splitlines()[2] == "| gan | 1 |"
    assert markdown_table(pd.DataFrame(columns=["a", "b"])) == "| a | b |\n|---|---|"


def test_format_number_and_p_value():
    assert format_number(0.1234) == "0.123"
    assert format_number(12.345, 1) == "12.3"
    assert format_number(np.float32(-0.5), 2) == "-0.50"
    assert [format_number(v) for v in (None, np.nan, np.inf)] == ["–"] * 3
    assert format_p_value(0.05) == "0.050"
    assert format_p_value(0.001) == "0.001"
    assert format_p_value(0.000999) == "<0.001"
    assert format_p_value(None) == format_p_value(np.nan) == "–"


def test_command_line_quotes_arguments(monkeypatch):
    assert command_line("benchmarks/x.py", []) == "python benchmarks/x.py"
    assert command_line("b.py", ["--models", "GAN, lambda_adv=0", "--n", 2]) == (
        "python b.py --models 'GAN, lambda_adv=0' --n 2"
    )
    monkeypatch.setattr("sys.argv", ["b.py", "--quick"])
    assert command_line("b.py") == "python b.py --quick"


def test_labels_name_the_machine(monkeypatch):
    import torch

    assert cpu_model()
    assert device_label("cpu", threads=3) == f"CPU 3 threads ({cpu_model()})"
    assert device_label("cpu").startswith(f"CPU {torch.get_num_threads()} threads")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: f"Fake {device}")
    assert device_label("cuda:1") == "CUDA Fake cuda:1"
    monkeypatch.setattr("os.cpu_count", lambda: 7)
    label = machine_label()
    assert label.startswith("7 cores") and label.endswith(f"torch {torch.__version__}")
