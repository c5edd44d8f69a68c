"""Write a model as ONNX graphs for the torch-free runtime: ``nmt export MODEL --format onnx``.

The directory holds the three graphs of :mod:`nmt.onnx.graphs` (``encoder.onnx``,
``decoder.onnx``, ``output_rows.onnx``), the tokenizers' JSON, the shortlist, and
``manifest.json`` (:mod:`nmt.runtime.manifest`): what a program in any language needs to
translate with onnxruntime alone (``docs/export.md``).

The graphs come from torch's TorchScript-based exporter (``dynamo=False``): it turns the
built-in cells into ONNX's own LSTM/GRU/RNN operators and a plugin cell's traced step into an
ONNX ``Loop``, where the newer exporter needs the loop rewritten for ``torch.export``. Each graph
is checked against the torch model on a batch of other sizes than the one it was traced with,
so a component whose step takes a Python branch on a size fails here, by name, and never
later as a wrong translation. ``quantize="int8"`` then applies onnxruntime's dynamic
quantization (int8 weights, activations quantized on the fly) to all three graphs.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import nmt
from nmt import checkpoint
from nmt.contract import BeamSharingDecoder, DecoderState, Memory, RestrictableDecoder, supports
from nmt.encoders import RNNEncoder
from nmt.errors import NmtError
from nmt.onnx.graphs import EncoderGraph, OutputRowsGraph, StepGraph, flat_state
from nmt.recurrent import RecurrentStack
from nmt.runtime import manifest as manifest_mod
from nmt.tokenizers import HFTokenizer

OPSET = 17
QUANTIZE = ("none", "int8")
# Graphs are checked against torch to this absolute tolerance (fp32 exports; int8 ones are
# checked before quantization).
TOLERANCE = 1e-4


def export_onnx(model_dir: str | Path, out: str | Path, quantize: str = "none") -> dict[str, Any]:
    """Export the model in ``model_dir`` to ``out`` (created; existing files are replaced);
    returns the manifest written."""
    if quantize not in QUANTIZE:
        raise NmtError(f"--quantize {quantize!r}: choose one of {', '.join(QUANTIZE)}.")
    for package in ("onnx", "onnxruntime"):
        try:
            __import__(package)
        except ModuleNotFoundError:
            raise NmtError(f"ONNX export needs the package {package!r}: "
                           "pip install 'recurrent-nmt[onnx]'.") from None
    model_dir, out = Path(model_dir), Path(out)
    loaded = checkpoint.load(model_dir)
    model = loaded.model.eval()
    components = _components(loaded.meta)
    _check_exportable(model, loaded, components)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp:
        work = Path(tmp)
        parts, stateful, shapes = _export_graphs(model, work, components)
        if quantize == "int8":
            _quantize(work)
        for name in (manifest_mod.ENCODER, manifest_mod.DECODER, manifest_mod.OUTPUT_ROWS):
            shutil.move(work / name, out / name)
    loaded.src_tokenizer.save(out / manifest_mod.SRC_TOKENIZER)
    loaded.tgt_tokenizer.save(out / manifest_mod.TGT_TOKENIZER)
    shortlist = None
    if loaded.shortlist is not None:
        shutil.copyfile(model_dir / checkpoint.SHORTLIST, out / manifest_mod.SHORTLIST)
        shortlist = manifest_mod.SHORTLIST
    elif (out / manifest_mod.SHORTLIST).exists():
        (out / manifest_mod.SHORTLIST).unlink()  # a stale one from an earlier export
    cfg = loaded.config
    meta = {k: v for k, v in loaded.meta.items()
            if k not in ("format_version", "nmt_version", checkpoint.SHA256, checkpoint.SHA256_REPLACING)}
    manifest = {
        "format": manifest_mod.FORMAT,
        "format_version": manifest_mod.FORMAT_VERSION,
        "nmt_version": nmt.__version__,
        "opset": OPSET,
        "quantize": quantize,
        "model": {
            "name": loaded.meta.get("name") or model_dir.name,
            "src_lang": loaded.meta.get("src_lang", cfg.data.src_lang),
            "tgt_lang": loaded.meta.get("tgt_lang", cfg.data.tgt_lang),
            "n_params": loaded.meta.get("n_params") or sum(p.numel() for p in model.parameters()),
            "src_vocab_size": loaded.src_tokenizer.vocab_size,
            "tgt_vocab_size": loaded.tgt_tokenizer.vocab_size,
            "state_parts": parts,
            "input_feeding": bool(model.decoder.input_feeding),
            "attention_state": stateful,
            "config": asdict(cfg.model),
            "meta": meta,
        },
        "special_ids": {"pad": loaded.tgt_tokenizer.pad_id, "unk": loaded.tgt_tokenizer.unk_id,
                        "bos": loaded.tgt_tokenizer.bos_id, "eos": loaded.tgt_tokenizer.eos_id},
        "decoding": {**asdict(cfg.decoding), "quantize": quantize},
        "tokenizers": {"type": cfg.tokenizer.type, "source": manifest_mod.SRC_TOKENIZER,
                       "target": manifest_mod.TGT_TOKENIZER},
        "shortlist": shortlist,
        "graphs": {role: {"file": name, **_signature(out / name, shapes[name])}
                   for role, name in (("encoder", manifest_mod.ENCODER),
                                      ("decoder", manifest_mod.DECODER),
                                      ("output_rows", manifest_mod.OUTPUT_ROWS))},
    }
    return manifest_mod.write(out, manifest)


def _components(meta: dict[str, Any]) -> str:
    """'cell 'sru' (nmt-sru 0.1.0), attention 'general' (nmt 0.1.0), ...' for messages."""
    parts = [f"{role} {info.get('name')!r} ({info.get('distribution')} {info.get('version')})"
             for role, info in meta.get("components", {}).items() if role != "tokenizer"]
    return ", ".join(parts) or "unknown components"


def _check_exportable(model: nn.Module, loaded: checkpoint.LoadedModel, components: str) -> None:
    """What the graphs assume, checked before any tracing, each with what to do instead."""
    encoder, decoder = model.encoder, model.decoder
    if not isinstance(encoder, RNNEncoder) or not isinstance(encoder.rnn, RecurrentStack):
        raise NmtError(f"ONNX export handles nmt's built-in 'rnn' encoder; this model's is "
                       f"{type(encoder).__name__} ({components}).")
    if not (supports(decoder, RestrictableDecoder) and supports(decoder, BeamSharingDecoder)):
        raise NmtError(f"ONNX export needs a decoder that can restrict its output rows and share "
                       f"memory across beams, as nmt's 'rnn' decoder does ({components}).")
    src = torch.tensor([[4, 5]])
    encoded = encoder(src, torch.tensor([2]))
    if not (isinstance(decoder.memory(encoded), Memory)
            and isinstance(decoder.initial_state(encoded), DecoderState)):
        raise NmtError(f"ONNX export needs a decoder whose memory and state are nmt.contract's "
                       f"Memory and DecoderState ({components}).")
    for role, tok in (("source", loaded.src_tokenizer), ("target", loaded.tgt_tokenizer)):
        if not isinstance(tok, HFTokenizer):
            raise NmtError(f"the {role} tokenizer is {type(tok).__name__}; the torch-free runtime "
                           "reads Hugging Face tokenizers JSON only (nmt's bpe, unigram, "
                           "wordpiece, char and word tokenizers).")


def _examples(model: nn.Module, batch: int, src_len: int, beam: int, width: int,
              seed: int) -> dict[str, Any]:
    """Inputs for tracing or checking the graphs: ``batch`` sentences of lengths down to 1,
    ``beam`` hypotheses each, ``width`` output rows, with real states from the model."""
    generator = torch.Generator().manual_seed(seed)
    vocab = model.decoder.output.out_features
    src_vocab = model.encoder.embedding.num_embeddings
    lengths = torch.linspace(src_len, 1, batch).round().long()
    src = torch.randint(4, src_vocab, (batch, src_len), generator=generator)
    src = src.masked_fill(torch.arange(src_len) >= lengths.unsqueeze(1), 0)
    rows_vocab = torch.cat([torch.tensor([3]), torch.randperm(vocab - 4, generator=generator)[: width - 1] + 4])
    rows_vocab = rows_vocab.sort().values
    with torch.no_grad():
        encoded = model.encoder(src, lengths)
        memory = model.decoder.restrict_vocabulary(model.decoder.memory(encoded), rows_vocab)
        state = model.decoder.initial_state(encoded).select(torch.arange(batch).repeat_interleave(beam))
    prev = torch.randint(4, vocab, (batch * beam,), generator=generator)
    return {"src": src, "lengths": lengths, "vocab": rows_vocab, "memory": memory, "state": state,
            "prev": prev}


def _step_args(example: dict[str, Any], feeding: bool) -> tuple[torch.Tensor, ...]:
    m = example["memory"]
    return (example["prev"], m.keys, m.cache, m.mask, m.output_weight, m.output_bias,
            *flat_state(example["state"], feeding))


def _names(parts: int, feeding: bool, stateful: bool) -> dict[str, list[str]]:
    state = ([f"state_{i}" for i in range(parts)] + (["feed"] if feeding else [])
             + (["attention_state"] if stateful else []))
    return {
        "encoder_in": ["src", "src_lengths"],
        "encoder_out": ["keys", "cache", "mask", *state],
        "decoder_in": ["prev", "keys", "cache", "mask", "output_weight", "output_bias", *state],
        "decoder_out": ["log_probs", "attention", *[f"next_{n}" for n in state]],
    }


def _export_graphs(model: nn.Module, work: Path, components: str) -> tuple[int, bool, dict]:
    """Trace and export the three graphs into ``work``, then check them; returns the number of
    recurrent state parts, whether the attention carries a state, and the check's output
    shapes (see :func:`_signature`)."""
    decoder = model.decoder
    feeding = bool(decoder.input_feeding)
    trace = _examples(model, batch=2, src_len=5, beam=2, width=7, seed=0)
    parts = len(trace["state"].rnn)
    carried = trace["state"].attention
    stateful = carried is not None
    names = _names(parts, feeding, stateful)
    state_names = names["encoder_out"][3:]
    encoder_axes = {"src": {0: "batch", 1: "src_len"}, "src_lengths": {0: "batch"},
                    "keys": {0: "batch", 1: "src_len"}, "cache": {0: "batch", 1: "src_len"},
                    "mask": {0: "batch", 1: "src_len"}}
    decoder_axes = {"prev": {0: "rows"}, "keys": {0: "sentences", 1: "src_len"},
                    "cache": {0: "sentences", 1: "src_len"}, "mask": {0: "sentences", 1: "src_len"},
                    "output_weight": {0: "width"}, "output_bias": {0: "width"},
                    "log_probs": {0: "rows", 1: "width"}, "attention": {0: "rows", 1: "src_len"}}
    for n in state_names:
        if n.startswith("state_"):
            encoder_axes[n] = {1: "batch"}
            decoder_axes[n] = decoder_axes[f"next_{n}"] = {1: "rows"}
        else:  # feed, attention_state: batch first; a coverage-like value also spans the source
            src_axes = {} if n == "feed" else {
                d: "src_len" for d in range(1, carried.dim()) if carried.size(d) == trace["src"].size(1)}
            encoder_axes[n] = {0: "batch", **src_axes}
            decoder_axes[n] = decoder_axes[f"next_{n}"] = {0: "rows", **src_axes}
    jobs = [
        ("encoder", manifest_mod.ENCODER, lambda: EncoderGraph(model.encoder, decoder),
         (trace["src"], trace["lengths"]), names["encoder_in"], names["encoder_out"], encoder_axes),
        ("decoder step", manifest_mod.DECODER, lambda: StepGraph(decoder, parts, stateful),
         _step_args(trace, feeding), names["decoder_in"], names["decoder_out"], decoder_axes),
        ("output rows", manifest_mod.OUTPUT_ROWS, lambda: OutputRowsGraph(decoder.output),
         (trace["vocab"],), ["vocab"], ["output_weight", "output_bias"],
         {"vocab": {0: "width"}, "output_weight": {0: "width"}, "output_bias": {0: "width"}}),
    ]
    for what, name, build, args, inputs, outputs, axes in jobs:
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # tracer warnings about Python values
                graph = build().eval()
                # Traced first, then exported: torch's exporter cannot trace a module that holds
                # a TorchScript part (a plugin cell's loop), but it exports a traced module.
                traced = torch.jit.trace(graph, args, check_trace=False)
                torch.onnx.export(traced, args, str(work / name), input_names=inputs,
                                  output_names=outputs, dynamic_axes=axes, opset_version=OPSET,
                                  dynamo=False, do_constant_folding=True)
        except NmtError:
            raise
        except Exception as exc:
            first = " ".join(str(exc).split())[:400]
            raise NmtError(
                f"cannot export the {what} graph: {type(exc).__name__}: {first}. Components: "
                f"{components}. A plugin cell or attention exports when one step of it can be "
                "traced (torch.jit.trace: tensor operations only, no Python branch on tensor "
                "values); the torch model itself is unaffected.") from exc
        finally:
            model.eval()  # exporting restores the wrapper's training flag onto shared modules
    return parts, stateful, _check_graphs(model, work, names, feeding, components)


def _check_graphs(model: nn.Module, work: Path, names: dict[str, list[str]],
                  feeding: bool, components: str) -> dict[str, dict[str, tuple[int, ...]]]:
    """Run the graphs with onnxruntime on other sizes than they were traced with (3 sentences
    of lengths 9 down to 1, beam 3, 11 output rows) and compare with the torch model; returns
    each graph's output shapes."""
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    import onnxruntime as ort

    probe = _examples(model, batch=3, src_len=9, beam=3, width=11, seed=1)
    sessions = {name: ort.InferenceSession(str(work / name), providers=["CPUExecutionProvider"])
                for name in (manifest_mod.ENCODER, manifest_mod.DECODER, manifest_mod.OUTPUT_ROWS)}
    with torch.no_grad():
        encoded = model.encoder(probe["src"], probe["lengths"])
        memory = model.decoder.memory(encoded)
        state = model.decoder.initial_state(encoded)
        expected = {
            manifest_mod.ENCODER: [memory.keys, memory.cache, memory.mask,
                                   *flat_state(state, feeding)],
            manifest_mod.OUTPUT_ROWS: [probe["memory"].output_weight, probe["memory"].output_bias],
        }
        logp, weights, new = model.decoder.step(probe["prev"], probe["state"], probe["memory"])
        expected[manifest_mod.DECODER] = [logp, weights, *flat_state(new, feeding)]
    feeds = {
        manifest_mod.ENCODER: dict(zip(names["encoder_in"], (probe["src"], probe["lengths"]))),
        manifest_mod.DECODER: dict(zip(names["decoder_in"], _step_args(probe, feeding))),
        manifest_mod.OUTPUT_ROWS: {"vocab": probe["vocab"]},
    }
    for name, session in sessions.items():
        try:
            got = session.run(None, {k: v.numpy() for k, v in feeds[name].items()})
        except Exception as exc:
            raise NmtError(f"the exported {name} fails on a batch of other sizes than it was "
                           f"traced with: {str(exc).splitlines()[0]}. Components: {components}. "
                           "A component probably fixes a size in Python (a loop over beams or "
                           "positions) that tracing recorded as a constant.") from exc
        shapes[name] = {o.name: a.shape for o, a in zip(session.get_outputs(), got)}
        for out_name, a, b in zip(session.get_outputs(), got, expected[name]):
            b = b.numpy()
            if a.shape != b.shape or (a.dtype != bool and not np.allclose(a, b, atol=TOLERANCE, rtol=0)) \
                    or (a.dtype == bool and not (a == b).all()):
                diff = "shape " + str(a.shape) if a.shape != b.shape else \
                    f"max difference {float(np.abs(a.astype(float) - b.astype(float)).max()):.3g}"
                raise NmtError(
                    f"the exported {name} disagrees with the torch model on output "
                    f"{out_name.name!r} ({diff}) for a batch of other sizes than it was traced "
                    f"with. Components: {components}. A component probably takes a Python "
                    "branch on a size or value that tracing fixed.")
    return shapes


def _quantize(work: Path) -> None:
    """onnxruntime's dynamic int8 quantization of every graph, in place."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for name in (manifest_mod.ENCODER, manifest_mod.DECODER, manifest_mod.OUTPUT_ROWS):
        source, target = work / name, work / f"int8-{name}"
        logging.disable(logging.WARNING)  # its advice to pre-process is for vision models
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        target.replace(source)


AXES = ("batch", "src_len", "sentences", "rows", "width")


def _signature(path: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, list[dict[str, Any]]]:
    """Each input and output of a graph: name, element type, shape with named dynamic axes.
    A size the exporter could not infer (it names it after an operator) is not dynamic: it is
    taken from the check's outputs (``shapes``)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}

    def describe(values) -> list[dict[str, Any]]:
        out = []
        for v in values:
            if v.name in initializers:
                continue
            t = v.type.tensor_type
            shape = [d.dim_param or d.dim_value for d in t.shape.dim]
            known = shapes.get(v.name)
            shape = [known[i] if known and isinstance(d, str) and d not in AXES else d
                     for i, d in enumerate(shape)]
            out.append({"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
                        "shape": shape})
        return out

    return {"inputs": describe(model.graph.input), "outputs": describe(model.graph.output)}
