"""Run the ``Examples`` sections of the package's docstrings as doctests.

Every public docstring example must run and print what it shows, so the API
reference cannot drift from the code. The GAN's example trains a network and
is kept out of the default run (``-m slow``).
"""

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import sk_eeg2music

matplotlib.use("Agg")

#: Modules whose examples take more than a few seconds.
SLOW = {"sk_eeg2music.models.gan.estimator"}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules():
    names = [sk_eeg2music.__name__]
    for info in pkgutil.walk_packages(sk_eeg2music.__path__, prefix="sk_eeg2music."):
        if info.name != "sk_eeg2music.__main__":
            names.append(info.name)
    return sorted(names)


MODULES = [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in _modules()
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    # Only the module's own objects: re-exported names are tested where defined.
    for test in finder.find(module, module_name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) failed in {module_name}"


def test_every_public_name_has_examples():
    """The names of ``sk_eeg2music.__all__`` each show a runnable example."""
    missing = []
    for name in sk_eeg2music.__all__:
        obj = getattr(sk_eeg2music, name)
        if callable(obj) and ">>>" not in (obj.__doc__ or ""):
            missing.append(name)
    assert not missing, f"no Examples section in the docstrings of {missing}"
