"""The torch-free runtime: translate with an exported directory (``nmt export --format onnx``)
using onnxruntime, numpy and tokenizers alone.

Nothing here imports torch, PyYAML, gradio or datasets; a test runs it in a virtual environment
that has only those three packages. ``Translator`` is imported lazily so that reading a
manifest (:mod:`nmt.runtime.manifest`) needs nothing but the standard library.
"""

__all__ = ["Translator"]


def __getattr__(name: str):
    if name == "Translator":
        from nmt.runtime.translator import Translator

        return Translator
    raise AttributeError(name)
