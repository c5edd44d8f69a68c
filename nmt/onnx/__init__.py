"""ONNX export (``nmt export MODEL --format onnx``): the torch side of the torch-free runtime.

:mod:`nmt.onnx.graphs` holds the three computations written for tracing, :mod:`nmt.onnx.export`
writes them with the tokenizers, shortlist and manifest; :mod:`nmt.runtime` reads the result
without torch. ``docs/export.md`` describes the graphs for other languages.
"""
