"""An exported model's three ONNX graphs behind the step function that search calls.

``encode`` runs the encoder graph once per batch; ``restrict`` cuts the output layer to a
batch's shortlist with the output-rows graph (once per batch; the whole vocabulary's rows are
cut once per model and kept); ``step`` runs the one-step decoder graph. The values passed
between them are numpy arrays in the layouts ``docs/export.md`` documents, held in two small
dataclasses with the ``select`` that beam search needs, mirroring :class:`nmt.contract.Memory`
and :class:`nmt.contract.DecoderState`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from nmt.errors import NmtError


@dataclass
class Memory:
    """keys (sentences, src_len, key_size), cache (sentences, src_len, ...), mask (sentences,
    src_len) bool; output_weight (width, hidden) and output_bias (width,): the rows scored."""

    keys: np.ndarray
    cache: np.ndarray
    mask: np.ndarray
    output_weight: np.ndarray
    output_bias: np.ndarray

    def select(self, index: np.ndarray) -> Memory:
        """Keep or repeat sentences; the output rows stay."""
        return replace(self, keys=self.keys[index], cache=self.cache[index], mask=self.mask[index])


@dataclass
class State:
    """parts: each (layers, rows, hidden); feed (rows, hidden) with input feeding, else None;
    attention (rows, ...) what a stateful attention (coverage) carries, else None."""

    parts: tuple[np.ndarray, ...]
    feed: np.ndarray | None
    attention: np.ndarray | None = None

    def select(self, index: np.ndarray) -> State:
        """Reorder rows, e.g. to follow the beams that survived a search step."""
        return State(tuple(p[:, index] for p in self.parts),
                     None if self.feed is None else self.feed[index],
                     None if self.attention is None else self.attention[index])


def session(path: Path, threads: int | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's concern
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise NmtError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0]}") from exc


class ExportedModel:
    """The graphs of one exported directory (see :mod:`nmt.runtime.manifest`)."""

    def __init__(self, model_dir: Path, manifest: dict[str, Any], threads: int | None = None) -> None:
        graphs = manifest["graphs"]
        self.encoder = session(model_dir / graphs["encoder"]["file"], threads)
        self.decoder = session(model_dir / graphs["decoder"]["file"], threads)
        self.output_rows = session(model_dir / graphs["output_rows"]["file"], threads)
        model = manifest["model"]
        self.parts = int(model["state_parts"])
        self.input_feeding = bool(model["input_feeding"])
        self.attention_state = bool(model.get("attention_state", False))
        self.tgt_vocab_size = int(model["tgt_vocab_size"])
        self._all_rows: tuple[np.ndarray, np.ndarray] | None = None

    def encode(self, src: np.ndarray, lengths: np.ndarray) -> tuple[Memory, State]:
        """src (batch, src_len) int64, 0 at padding; lengths (batch,) -> memory with the whole
        vocabulary's output rows, and the initial decoder state."""
        keys, cache, mask, *state = self.encoder.run(None, {"src": src, "src_lengths": lengths})
        weight, bias = self.all_rows()
        return Memory(keys, cache, mask, weight, bias), self._state(state)

    def _state(self, values: list[np.ndarray]) -> State:
        """state_*, [feed], [attention_state], in the graphs' order -> State."""
        parts, rest = tuple(values[: self.parts]), list(values[self.parts :])
        feed = rest.pop(0) if self.input_feeding else None
        attention = rest.pop(0) if self.attention_state else None
        return State(parts, feed, attention)

    def all_rows(self) -> tuple[np.ndarray, np.ndarray]:
        if self._all_rows is None:
            self._all_rows = self.rows(np.arange(self.tgt_vocab_size, dtype=np.int64))
        return self._all_rows

    def rows(self, vocab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """vocab (width,) sorted target ids -> output weight (width, hidden), bias (width,)."""
        weight, bias = self.output_rows.run(None, {"vocab": vocab.astype(np.int64)})
        return weight, bias

    def restrict(self, memory: Memory, vocab: np.ndarray) -> Memory:
        """A memory whose steps score only the target ids ``vocab``, in that order."""
        weight, bias = self.rows(vocab)
        return replace(memory, output_weight=weight, output_bias=bias)

    def step(self, prev: np.ndarray, state: State, memory: Memory) -> tuple[np.ndarray, np.ndarray, State]:
        """prev (rows,) ids, rows = sentences x beam against one memory row per sentence ->
        log-probabilities (rows, width) float32, attention (rows, src_len), next state."""
        feeds = {"prev": prev.astype(np.int64, copy=False), "keys": memory.keys,
                 "cache": memory.cache, "mask": memory.mask,
                 "output_weight": memory.output_weight, "output_bias": memory.output_bias}
        for i, part in enumerate(state.parts):
            feeds[f"state_{i}"] = part
        if self.input_feeding:
            feeds["feed"] = state.feed
        if self.attention_state:
            feeds["attention_state"] = state.attention
        log_probs, weights, *new = self.decoder.run(None, feeds)
        return log_probs, weights, self._state(new)
