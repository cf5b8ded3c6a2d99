"""The ``PYTHONSTARTUP`` file of the kernels nbval starts for the lessons (set by the root
``conftest.py``): every figure the notebook renders is checked (:mod:`figure_check`), its findings
appended to the file ``FLOWLIB_FIGURE_REPORT`` names. It runs in the notebook's namespace and
leaves no name there."""


def _flowlib_figure_check() -> None:
    import os

    import figure_check  # IPython puts this file's folder on sys.path while it runs it

    figure_check.install(os.environ["FLOWLIB_FIGURE_REPORT"])


_flowlib_figure_check()
del _flowlib_figure_check
