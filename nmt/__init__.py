"""nmt: recurrent neural machine translation with pluggable components."""

__version__ = "0.1.0"
# The distribution name, for `pip install` and in dependency lists: `nmt` on PyPI is an unrelated
# project. It must equal [project] name in pyproject.toml (tests/test_packaging.py checks).
DISTRIBUTION = "recurrent-nmt"

from nmt.errors import NmtError

__all__ = ["DISTRIBUTION", "NmtError", "Translator", "__version__"]


def __getattr__(name: str):
    # Importing torch costs a second; `nmt --help` and `nmt plugins` should not pay it.
    if name == "Translator":
        from nmt.translator import Translator

        return Translator
    raise AttributeError(name)
