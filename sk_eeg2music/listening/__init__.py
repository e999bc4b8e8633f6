"""Listening tests: a MUSHRA-style page from a reconstruction run, and its statistics.

:func:`make_test` turns a run folder (``demo``'s report, or any folder with a
``clips.csv`` manifest) into a static, offline page (ITU-R BS.1534-3 trials with
a hidden reference and a 3.5 kHz low-pass anchor, plus an optional 2AFC
identification block). The page downloads the ratings as CSV, or
:func:`serve` stores them in ``TEST_DIR/ratings/``. :func:`analyze` reads them
back: medians and interquartile ranges, the Friedman test, Holm-corrected
Wilcoxon signed-rank tests against the baselines, 2AFC accuracy with binomial
p-values, and post-screening; :func:`write_summary` writes the HTML summary.
On the command line: ``eeg2music listen`` and ``eeg2music listen-report``.
"""

from ._analyze import analyze, plot_ratings, post_screening, read_ratings, write_summary
from ._build import COLUMNS as COLUMNS  # the ratings CSV columns, for scripts
from ._build import lowpass_anchor, make_test, read_test
from ._order import presentation_order
from ._serve import serve

__all__ = [
    "analyze",
    "lowpass_anchor",
    "make_test",
    "plot_ratings",
    "post_screening",
    "presentation_order",
    "read_ratings",
    "read_test",
    "serve",
    "write_summary",
]
