"""Behavioural probes: build a component with tiny sizes, run it once on tiny tensors, and say
what broke the contract, as "what — expected X, got Y".

Static checks (methods present, constructor signature) cannot see a transposed state, weight on
padding or a fused path that drifts from the single step; these can, before any model exists.
Each probe returns None or the problem. The caller (:func:`nmt.contracts.check`) forks the
random state around them and caches the answer per class. Torch is imported inside the
functions, so the table of kinds can name them without importing torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from nmt.contract import (
    BatchedAttention,
    BeamSharingDecoder,
    CandidateDecoder,
    EncoderOutput,
    FusedCell,
    IncrementalEncoder,
    PrefixDecoder,
    RestrictableDecoder,
    StatefulAttention,
    StepMaskedAttention,
    supports,
)

TOLERANCE = 1e-4


class ProbeFailure(Exception):
    """A probe's verdict, raised from deep inside it; the message is the problem."""


def run(probe: Callable[[type], str | None], cls: type) -> str | None:
    """The probe's verdict; an exception escaping a call it did not name is a problem too."""
    try:
        return probe(cls)
    except ProbeFailure as failure:
        return str(failure)
    except Exception as exc:
        return f"raised {type(exc).__name__}: {exc} — expected the probe on tiny tensors to run"


def _call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; an exception becomes a problem naming the call."""
    from nmt.errors import NmtError

    try:
        return fn(*args, **kwargs)
    except NmtError:
        raise
    except Exception as exc:
        raise ProbeFailure(f"{what} raised {type(exc).__name__}: {exc} — expected it to run "
                           "on tiny tensors") from exc


def shapes(parts: Any) -> str:
    """Shapes of a tensor or nested tuple of tensors, for messages: ``((2, 4), (2, 4))``."""
    if isinstance(parts, (tuple, list)):
        return "(" + ", ".join(shapes(p) for p in parts) + (",)" if len(parts) == 1 else ")")
    return str(tuple(parts.shape)) if hasattr(parts, "shape") else type(parts).__name__


def _is_shape(value: Any, shape: tuple[int, ...]) -> bool:
    import torch

    return isinstance(value, torch.Tensor) and tuple(value.shape) == shape


def _factory(cls: type) -> Any:
    """``cls`` with its default options bound, as nmt would build it from an empty config."""
    from nmt import options

    opts = options.defaults(cls)
    return cls if opts is None else functools.partial(cls, options=opts)


def _difference(what: str, expected: Any, got: Any, expected_name: str, got_name: str) -> str | None:
    """None when two tensors agree within TOLERANCE; else where and by how much they differ."""
    import torch

    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return (f"{what} — expected ({expected_name}) shape {shapes(expected)}, "
                f"got ({got_name}) {shapes(got)}")
    gap = (expected.float() - got.float()).abs()
    if gap.numel() == 0 or gap.max() <= TOLERANCE:
        return None
    worst = tuple(int(i) for i in torch.unravel_index(gap.argmax(), gap.shape))
    return (f"{what} differ by up to {gap.max().item():.3g} (max abs difference; tolerance "
            f"{TOLERANCE:g}) — at {list(worst)} expected ({expected_name}) "
            f"{expected[worst].item():.4g}, got ({got_name}) {got[worst].item():.4g}")


# -- cells ---------------------------------------------------------------------------------------

def cell(cls: type) -> str | None:
    import torch

    from nmt.recurrent import RecurrentStack

    batch, input_size, hidden = 2, 3, 4
    make = _factory(cls)
    unit = _call(f"{cls.__name__}(input_size=3, hidden_size=4)", make, input_size, hidden)
    state = _call("initial_state(batch=2, ...)", unit.initial_state, batch, torch.device("cpu"),
                  torch.float32)
    if not (isinstance(state, tuple) and state and all(_is_shape(s, (batch, hidden)) for s in state)):
        return ("initial_state(batch=2, ...) must return a non-empty tuple of (batch, hidden_size) "
                f"tensors — expected ((2, 4), ...), got {shapes(state)}")
    result = _call("forward(x, state)", unit, torch.randn(batch, input_size), state)
    if not (isinstance(result, tuple) and len(result) == 2):
        return ("forward(x, state) must return (output, new_state) — expected 2 values, "
                f"got {shapes(result)}")
    out, new = result
    if not _is_shape(out, (batch, hidden)):
        return f"forward's output must be (batch, hidden_size) — expected (2, 4), got {shapes(out)}"
    if not (isinstance(new, tuple) and len(new) == len(state)
            and all(_is_shape(s, (batch, hidden)) for s in new)):
        return (f"forward's new state must match initial_state — expected {shapes(state)}, "
                f"got {shapes(new)}")
    if not supports(cls, FusedCell):
        return None
    # Unsorted lengths and a non-zero initial state, as the encoder and the decoder pass them.
    stack = RecurrentStack(make, input_size, hidden, num_layers=2, bidirectional=True).eval()
    x, lengths = torch.randn(3, 5, input_size), torch.tensor([2, 5, 4])
    start = tuple(torch.randn_like(s) for s in stack.initial_state(3, x.device, x.dtype))
    fused_out, fused_state = _call("fused_sequence(layers, inputs, lengths, state, 0.0, False)",
                                   stack, x, lengths, start)
    stack.use_fused = False
    loop_out, loop_state = stack(x, lengths, start)
    what = "fused_sequence disagrees with the single-step loop on the same weights"
    problem = _difference(f"{what}: the outputs", loop_out, fused_out, "loop", "fused")
    if problem:
        return problem
    if not isinstance(fused_state, tuple) or len(fused_state) != len(loop_state):
        return (f"{what}: the final state — expected (loop) {shapes(loop_state)}, "
                f"got (fused) {shapes(fused_state)}")
    for i, (a, b) in enumerate(zip(loop_state, fused_state)):
        problem = _difference(f"{what}: final state part {i}", a, b, "loop", "fused")
        if problem:
            return problem
    return None


# -- attention -----------------------------------------------------------------------------------

def attention(cls: type) -> str | None:
    import torch

    from nmt.errors import NmtError

    batch, src_len, query_size, key_size = 2, 5, 4, 6
    make = _factory(cls)
    try:
        unit = _call(f"{cls.__name__}(query_size=4, key_size=6)", make, query_size, key_size)
    except NmtError:  # a deliberate refusal of unequal sizes (as `dot` does)
        query_size = key_size
        unit = _call(f"{cls.__name__}(query_size=6, key_size=6)", make, query_size, key_size)
    keys = torch.randn(batch, src_len, key_size)
    mask = torch.arange(src_len)[None, :] < torch.tensor([5, 3])[:, None]
    cache = _call("precompute(keys)", unit.precompute, keys)
    if not isinstance(cache, torch.Tensor) or cache.size(0) != batch:
        return ("precompute(keys) must return one tensor with the batch first (beam search "
                f"reorders its rows) — expected ({batch}, ...), got {shapes(cache)}")
    result = _call("forward(query, keys, cache, mask)", unit, torch.randn(batch, query_size),
                   keys, cache, mask)
    if not (isinstance(result, tuple) and len(result) == 2):
        return ("forward(query, keys, cache, mask) must return (context, weights) — expected 2 "
                f"values, got {shapes(result)}")
    context, weights = result
    if not _is_shape(context, (batch, key_size)):
        return f"context must be (batch, key_size) — expected (2, {key_size}), got {shapes(context)}"
    if not _is_shape(weights, (batch, src_len)):
        return f"weights must be (batch, src_len) — expected (2, 5), got {shapes(weights)}"
    leak = weights[~mask].abs().max().item()
    if leak > 1e-6:
        return ("weights must be zero at padded source positions (mask False) — expected 0, "
                f"got up to {leak:.3g}")
    if supports(cls, StatefulAttention):
        problem = _stateful(unit, keys, cache, mask, query_size)
        if problem:
            return problem
    if supports(cls, StepMaskedAttention) and supports(cls, BatchedAttention):
        return _step_masks(unit, keys, cache, mask, query_size)
    return None


def _stateful(unit: Any, keys: Any, cache: Any, mask: Any, query_size: int) -> str | None:
    """initial_state and step: batch-first values that keep their shape, and forward equal to
    step from the initial state (the stateless call is the first step)."""
    import torch

    state = _call("initial_state(keys, mask)", unit.initial_state, keys, mask)
    if not isinstance(state, torch.Tensor) or state.size(0) != keys.size(0):
        return ("initial_state(keys, mask) must return one tensor with the batch first (beam "
                f"search reorders its rows) — expected ({keys.size(0)}, ...), got {shapes(state)}")
    torch.manual_seed(0)
    query = torch.randn(keys.size(0), query_size)
    first = _call("step(query, keys, cache, mask, state)", unit.step, query, keys, cache, mask, state)
    if not (isinstance(first, tuple) and len(first) == 3):
        return ("step(query, keys, cache, mask, state) must return (context, weights, state) — "
                f"expected 3 values, got {shapes(first)}")
    if not _is_shape(first[2], tuple(state.shape)):
        return (f"step must return the next state in the initial state's shape — expected "
                f"{tuple(state.shape)}, got {shapes(first[2])}")
    lone = unit(query, keys, cache, mask)
    return (_difference("forward and step from initial_state: the context", lone[0], first[0],
                        "forward", "step")
            or _difference("forward and step from initial_state: the weights", lone[1], first[1],
                           "forward", "step"))


def _step_masks(unit: Any, keys: Any, cache: Any, mask: Any, query_size: int) -> str | None:
    """step_masks is True: attend_all with one mask per query must agree with forward per step."""
    import torch

    steps = 3
    queries = torch.randn(keys.size(0), steps, query_size)
    readable = torch.arange(1, steps + 1)[None, :, None]  # step t reads the first t + 1 keys
    step_masks = mask.unsqueeze(1) & (torch.arange(keys.size(1))[None, None, :] < readable)
    result = _call("attend_all(queries, keys, cache, mask (batch, steps, src_len))",
                   unit.attend_all, queries, keys, cache, step_masks)
    for t in range(steps):
        context, weights = unit(queries[:, t], keys, cache, step_masks[:, t])
        what = f"step_masks is True, but attend_all with a (batch, steps, src_len) mask, step {t},"
        problem = (_difference(f"{what} the context", context, result[0][:, t], "forward", "attend_all")
                   or _difference(f"{what} the weights", weights, result[1][:, t], "forward",
                                  "attend_all"))
        if problem:
            return problem
    return None


# -- encoders ------------------------------------------------------------------------------------

def encoder(cls: type) -> str | None:
    import torch

    from nmt import options
    from nmt.cells import GRUCell
    from nmt.kinds import KINDS

    values = dict(vocab_size=11, embedding_size=4, hidden_size=3, num_layers=2, bidirectional=True,
                  dropout=0.0, embedding_dropout=None, cell=GRUCell)
    args, kwargs = KINDS["encoders"].constructor.arguments(cls, values, options.defaults(cls))
    unit = _call(f"{cls.__name__}(vocab_size=11, embedding_size=4, hidden_size=3, ...)",
                 cls, *args, **kwargs).eval()
    for attr in ("output_size", "summary_size"):
        if not isinstance(getattr(unit, attr, None), int):
            return (f"the constructor must set the attribute {attr} — expected an int, "
                    f"got {getattr(unit, attr, None)!r}")
    src = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 4, 0, 0], [5, 6, 7, 8, 0]])
    lengths = torch.tensor([5, 3, 4])
    out = _call("forward(src, lengths)", unit, src, lengths)
    if not all(hasattr(out, a) for a in ("states", "mask", "summary")):
        return ("forward(src, lengths) must return an nmt.contract.EncoderOutput — expected "
                f"states, mask and summary, got {type(out).__name__}")
    if not _is_shape(out.states, (3, 5, unit.output_size)):
        return ("states must be (batch, src_len, output_size) — expected "
                f"(3, 5, {unit.output_size}), got {shapes(out.states)}")
    expected_mask = src != 0
    if not (isinstance(out.mask, torch.Tensor) and out.mask.dtype == torch.bool
            and out.mask.shape == expected_mask.shape and bool((out.mask == expected_mask).all())):
        return ("mask must be a bool (batch, src_len) tensor, True exactly at real tokens — "
                f"expected {expected_mask.int().tolist()}, got {_listing(out.mask)}")
    leak = out.states[~expected_mask].abs().max().item()
    if leak > 1e-6:
        return f"states must be zero at padding — expected 0, got up to {leak:.3g}"
    if not _is_shape(out.summary, (3, unit.summary_size)):
        return (f"summary must be (batch, summary_size) — expected (3, {unit.summary_size}), "
                f"got {shapes(out.summary)}")
    alone = unit(src[1:2, :3], lengths[1:2])
    problem = (_difference("a sentence's states in a padded batch and alone", alone.states[0],
                           out.states[1, :3], "alone", "padded")
               or _difference("a sentence's summary in a padded batch and alone", alone.summary[0],
                              out.summary[1], "alone", "padded"))
    if problem:
        return f"padding must not change a sentence's encoding: {problem}"
    if supports(cls, IncrementalEncoder):
        return _incremental(cls, {**values, "bidirectional": False}, src[:1], lengths[:1])
    return None


def _incremental(cls: type, values: dict, src: Any, lengths: Any) -> str | None:
    """incremental is True: pushing pieces in chunks must give the whole pass's states."""
    import torch

    from nmt import options
    from nmt.kinds import KINDS

    args, kwargs = KINDS["encoders"].constructor.arguments(cls, values, options.defaults(cls))
    unit = _call(f"{cls.__name__}(..., bidirectional=False)", cls, *args, **kwargs).eval()
    if not supports(unit, IncrementalEncoder):  # this instance switched it off: nothing to hold
        return None
    whole = unit(src, lengths).states
    stream = _call("start_stream(1, ...)", unit.start_stream, 1, torch.device("cpu"), torch.float32)
    pushed = []
    for start, end in ((0, 2), (2, 3), (3, src.size(1))):
        states, stream = _call("extend(stream, ids)", unit.extend, stream, src[:, start:end])
        pushed.append(states)
    problem = _difference("the states of pieces pushed in chunks of 2, 1 and 2 and of one whole "
                          "pass", whole, torch.cat(pushed, dim=1), "forward", "extend")
    return problem and f"incremental is True, but {problem}"


def _listing(value: Any) -> str:
    return str(value.int().tolist()) if hasattr(value, "int") else type(value).__name__


# -- decoders ------------------------------------------------------------------------------------

def decoder(cls: type) -> str | None:
    import torch

    from nmt import options
    from nmt.attention import GeneralAttention
    from nmt.cells import LSTMCell
    from nmt.errors import NmtError
    from nmt.kinds import KINDS

    batch, src_len, vocab, key_size = 2, 5, 11, 6
    values = dict(vocab_size=vocab, embedding_size=4, hidden_size=4, num_layers=2, dropout=0.0,
                  embedding_dropout=None, cell=LSTMCell, attention=GeneralAttention,
                  encoder_output_size=key_size, encoder_summary_size=key_size,
                  input_feeding=True, init="bridge")
    constructor = KINDS["decoders"].constructor

    def build() -> Any:
        args, kwargs = constructor.arguments(cls, values, options.defaults(cls))
        return _call(f"{cls.__name__}(vocab_size=11, hidden_size=4, encoder_output_size="
                     f"{values['encoder_output_size']}, ...)", cls, *args, **kwargs).eval()

    try:
        unit = build()
    except NmtError:  # a deliberate refusal of unequal sizes: try equal ones
        key_size = values["encoder_output_size"] = values["encoder_summary_size"] = 4
        unit = build()
    mask = torch.arange(src_len)[None, :] < torch.tensor([5, 3])[:, None]
    encoded = EncoderOutput(states=torch.randn(batch, src_len, key_size) * mask[:, :, None],
                            mask=mask, summary=torch.randn(batch, key_size))
    memory = _call("memory(encoded)", unit.memory, encoded)
    state = _call("initial_state(encoded)", unit.initial_state, encoded)
    for name, value, example in (("memory", memory, "Memory"), ("initial_state", state, "DecoderState")):
        if not callable(getattr(value, "select", None)):
            return (f"{name}(encoded) must return a value with select(index) (beam search reorders "
                    f"its rows) — expected e.g. nmt.contract.{example}, got {type(value).__name__}")
    prev = torch.tensor([2, 2])
    result = _call("step(prev, state, memory)", unit.step, prev, state, memory)
    if not (isinstance(result, tuple) and len(result) == 3):
        return ("step(prev, state, memory) must return (log_probs, weights, state) — expected 3 "
                f"values, got {shapes(result)}")
    log_probs, weights, state = result
    problem = _log_probs("step", log_probs, (batch, vocab))
    if problem:
        return problem
    if not _is_shape(weights, (batch, src_len)):
        return (f"step's attention weights must be (batch, src_len) — expected (2, 5), "
                f"got {shapes(weights)}")
    rows = torch.tensor([1, 0])
    swapped = _call("step after state.select(index) and memory.select(index)", unit.step,
                    prev, state.select(rows), memory.select(rows))[0]
    problem = _log_probs("step after select", swapped, (batch, vocab))
    if problem:
        return problem
    logits = _call("forward(tgt_in, encoded)", unit, torch.tensor([[2, 5, 6], [2, 7, 0]]), encoded)
    if not _is_shape(logits, (batch, 3, vocab)):
        return (f"forward(tgt_in, encoded) must return logits (batch, tgt_len, vocab) — expected "
                f"(2, 3, {vocab}), got {shapes(logits)}")
    if supports(cls, RestrictableDecoder):
        ids = torch.tensor([0, 3, 5, 7])
        restricted = _call("restrict_vocabulary(memory, vocab)", unit.restrict_vocabulary, memory, ids)
        scores = _call("step with a restricted memory", unit.step, prev, state,
                       restricted.select(torch.tensor([0, 1])))[0]
        problem = _log_probs("restrict_vocabulary(memory, vocab): step with the restricted "
                             "memory, after select,", scores, (batch, len(ids)))
        if problem:
            return problem
    if supports(cls, CandidateDecoder):
        ids = torch.tensor([0, 3, 5, 7])
        tgt_in = torch.tensor([[2, 5, 6], [2, 7, 0]])
        picked = _call("forward(tgt_in, encoded, vocab=...)", unit, tgt_in, encoded, vocab=ids)
        problem = _difference("trains_on_candidates is True, but forward(tgt_in, encoded, "
                              "vocab=ids): the logits", logits[..., ids], picked,
                              "forward()[..., ids]", "forward(vocab=ids)")
        if problem:
            return problem
    if supports(cls, BeamSharingDecoder):
        beams = torch.tensor([0, 0, 1, 1])
        prev = torch.tensor([2, 5, 2, 6])
        what = "beams_share_memory is True, but step(prev, state, memory) with 2 beams per sentence"
        shared = _call(f"{what} against one memory row per sentence", unit.step, prev,
                       state.select(beams), memory)[0]
        copied = unit.step(prev, state.select(beams), memory.select(beams))[0]
        problem = _difference(f"{what}: the log-probabilities against one memory row per "
                              "sentence and against a row per beam", copied, shared,
                              "memory per beam", "shared memory")
        if problem:
            return problem
    if supports(cls, PrefixDecoder):
        return _prefix(unit, encoded, logits)
    return None


def _prefix(unit: Any, encoded: EncoderOutput, logits: Any) -> str | None:
    """forward_prefix: reading everything is forward; step 0 reading one piece ignores the rest."""
    from dataclasses import replace

    import torch

    tgt_in = torch.tensor([[2, 5, 6], [2, 7, 0]])
    everything = torch.full((2, 3), encoded.mask.size(1))
    full = _call("forward_prefix(tgt_in, encoded, readable)", unit.forward_prefix, tgt_in,
                 encoded, everything)
    problem = _difference("forward_prefix reading the whole source and forward: the logits",
                          logits, full, "forward", "forward_prefix")
    if problem:
        return problem
    readable = torch.tensor([[1, 2, 3], [1, 2, 3]])
    changed = replace(encoded, states=encoded.states.clone())
    changed.states[:, 1:] += 1.0
    before = unit.forward_prefix(tgt_in, encoded, readable)[:, 0]
    after = unit.forward_prefix(tgt_in, changed, readable)[:, 0]
    problem = _difference("forward_prefix's step 0, reading one source piece, when later pieces "
                          "change: the logits", before, after, "before", "after")
    return problem and f"{problem} — expected step t to read only source positions < readable[:, t]"


def _log_probs(what: str, value: Any, shape: tuple[int, ...]) -> str | None:
    import torch

    if not _is_shape(value, shape):
        return (f"{what} must return log-probabilities (batch, vocab) — expected {shape}, "
                f"got {shapes(value)}")
    if value.dtype != torch.float32:
        return f"{what}'s log-probabilities must be float32 — expected torch.float32, got {value.dtype}"
    total = torch.logsumexp(value, dim=-1)
    if (total.abs() > 1e-3).any():
        return (f"{what} must return log-probabilities (a log-softmax over the vocabulary) — "
                f"expected each row's logsumexp to be 0, got {[round(t, 3) for t in total.tolist()]}")
    return None
