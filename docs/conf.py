"""Sphinx configuration of the sk_eeg2music documentation.

Build with ``make docs`` (warnings are errors). Nothing here reaches the
network: intersphinx is not used, so the build works offline.
"""

import inspect
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Document (and run the examples against) the checkout the docs live in.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "sphinxext"))
# The gallery runs in this process; two threads match the CI machines.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import gen_pages  # noqa: E402

import sk_eeg2music  # noqa: E402

project = "sk_eeg2music"
author = "the sk_eeg2music developers"
copyright = "2025, the sk_eeg2music developers"
release = sk_eeg2music.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store", "**/README.md"]
default_role = "literal"
add_module_names = False

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- MyST (Markdown pages: datasets.md, benchmarks.md) ------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# -- sphinx-gallery -----------------------------------------------------------
# Examples listed here are rendered but not executed (their code needs parts of
# the package that are not merged yet). Keep this empty on main.
NOT_EXECUTED = []
_skip = "|".join(NOT_EXECUTED)
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Every plot_*.py example runs during the build (small settings, < 2 min in all).
    "filename_pattern": rf"/(?!(?:{_skip})\.py$)plot_" if _skip else r"/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sk_eeg2music",),
    "reference_url": {"sk_eeg2music": None},
    "backreferences_dir": "generated/backreferences",
    "capture_repr": ("_repr_html_",),
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "download_all_examples": False,
    "default_thumb_file": None,
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib", "gallery_reset.reset_sklearn"),
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sk_eeg2music {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "install": [], "quickstart": [], "cli": []}
html_show_sourcelink = False

# -- pages generated from the code -------------------------------------------
gen_pages.write_api_page(HERE)
gen_pages.write_cli_help(HERE)
gen_pages.write_standin(
    HERE,
    "datasets",
    """\
Datasets
========

The dataset guide (NMED-T and MOS download and folder layout, ``from_mne``) is
written with the loaders and appears here once they are merged. Until then, see
:ref:`data-contract` for what every loader returns and
:func:`~sk_eeg2music.make_simulated` for the simulated default.
""",
)
_scripts = ", ".join(f"``benchmarks/{s}``" for s in gen_pages.benchmark_scripts(HERE))
gen_pages.write_standin(
    HERE,
    "benchmarks",
    f"""\
Benchmarks
==========

The benchmark tables are produced by the scripts in ``benchmarks/``
({_scripts or "none yet"}); run them with ``make bench`` or
``python benchmarks/<script>.py``. Their results are published on this page as
``docs/benchmarks.md`` once they have been run.
""",
)


def _check_public_docstrings(app):
    """Warn (an error under ``-W``) for a public name without a docstring."""
    from sphinx.util import logging

    logger = logging.getLogger("sk_eeg2music.docs")
    for names in gen_pages.collect_api().values():
        for name in names:
            obj = sk_eeg2music
            for part in name.split("."):
                obj = getattr(obj, part)
            if (inspect.isclass(obj) or callable(obj)) and not (obj.__doc__ or "").strip():
                logger.warning(f"public name sk_eeg2music.{name} has no docstring")


def _skip_generated_members(app, what, name, obj, skip, options):
    """Skip scikit-learn's generated ``set_*_request`` methods.

    Every estimator with a ``groups``/``segment`` argument gets them; their
    docstrings are scikit-learn's (with links into scikit-learn's own glossary)
    and the user guide explains routing where it matters.
    """
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.connect("builder-inited", _check_public_docstrings)
    app.connect("autodoc-skip-member", _skip_generated_members)
