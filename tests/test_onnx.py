"""ONNX export and the torch-free runtime: graphs equal to the torch model, the same
translations through the numpy beam search, manifest hashes, plugins, and a torch-free venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest
import torch

from nmt import registry
from nmt.config import ModelConfig
from nmt.errors import NmtError
from nmt.model import build_model
from nmt.onnx.export import export_onnx
from nmt.onnx.graphs import MaskedEncoder
from nmt.runtime import manifest
from nmt.runtime import translator as runtime
from nmt.translator import BUNDLED_MODEL, Translator

from conftest import DATA, micro_config

ROOT = Path(__file__).resolve().parent.parent


def dev_sources(n: int) -> list[str]:
    return (DATA / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()[:n]


@pytest.fixture(scope="module")
def tiny_export(tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-onnx")
    export_onnx(tiny_model, out)  # also checks each graph against torch on other sizes
    return out


@pytest.fixture(scope="module")
def bundled_export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundled-onnx")
    export_onnx(BUNDLED_MODEL, out)
    return out


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_masked_encoder_equals_the_packed_one_on_padded_batches(cell):
    torch.manual_seed(0)
    cfg = ModelConfig(cell=cell, embedding_size=8, encoder_hidden_size=6, decoder_hidden_size=10,
                      encoder_layers=2, bidirectional=True)
    model, _ = build_model(cfg, 30, 40)
    model.eval()
    src = torch.tensor([[5, 6, 7, 8, 9, 10], [4, 5, 6, 0, 0, 0], [7, 0, 0, 0, 0, 0]])
    lengths = torch.tensor([6, 3, 1])
    with torch.no_grad():
        packed = model.encoder(src, lengths)
        masked = MaskedEncoder(model.encoder)(src, lengths)
    torch.testing.assert_close(masked.states, packed.states, atol=1e-6, rtol=0)
    torch.testing.assert_close(masked.summary, packed.summary, atol=1e-6, rtol=0)
    assert torch.equal(masked.mask, packed.mask)


def test_graphs_equal_the_torch_model(tiny_model, tiny_export):
    import onnxruntime as ort

    info = manifest.read(tiny_export)
    assert info["graphs"]["encoder"]["inputs"] == [
        {"name": "src", "dtype": "int64", "shape": ["batch", "src_len"]},
        {"name": "src_lengths", "dtype": "int64", "shape": ["batch"]}]
    translator = Translator.load(tiny_model)
    ids = translator.src_tokenizer.encode_batch(dev_sources(5))
    lengths = torch.tensor([len(x) for x in ids])
    src = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for i, x in enumerate(ids):
        src[i, : len(x)] = torch.tensor(x)
    encoder = ort.InferenceSession(str(tiny_export / "encoder.onnx"))
    keys, cache, mask, *state = encoder.run(None, {"src": src.numpy(), "src_lengths": lengths.numpy()})
    with torch.no_grad():
        _, memory, initial = translator.model.start(src, lengths)
        logp, weights, _ = translator.model.decoder.step(
            torch.full((len(ids),), 2), initial, memory)
    np.testing.assert_allclose(keys, memory.keys.numpy(), atol=1e-5)
    np.testing.assert_allclose(state[0], initial.rnn[0].numpy(), atol=1e-5)
    assert (mask == memory.mask.numpy()).all()
    rows = ort.InferenceSession(str(tiny_export / "output_rows.onnx"))
    weight, bias = rows.run(None, {"vocab": np.arange(translator.tgt_tokenizer.vocab_size)})
    step = ort.InferenceSession(str(tiny_export / "decoder.onnx"))
    feeds = {"prev": np.full(len(ids), 2), "keys": keys, "cache": cache, "mask": mask,
             "output_weight": weight, "output_bias": bias,
             **{f"state_{i}": s for i, s in enumerate(state[: len(initial.rnn)])}}
    if translator.model.decoder.input_feeding:
        feeds["feed"] = state[-1]
    log_probs, attention, *_ = step.run(None, feeds)
    np.testing.assert_allclose(log_probs, logp.numpy(), atol=1e-4)
    np.testing.assert_allclose(attention, weights.numpy(), atol=1e-5)


class TorchSteps:
    """The torch model behind the runtime's step-function interface, so that the numpy search
    can be compared with the torch search on exactly the same log-probabilities."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def encode(self, src, lengths):
        from nmt.runtime.model import Memory, State

        with torch.no_grad():
            _, memory, state = self.model.start(torch.from_numpy(src), torch.from_numpy(lengths))
        output = self.model.decoder.output
        return (Memory(memory.keys.numpy(), memory.cache.numpy(), memory.mask.numpy(),
                       output.weight.detach().numpy(), output.bias.detach().numpy()),
                State(tuple(p.numpy() for p in state.rnn), state.feed.numpy(),
                      None if state.attention is None else state.attention.numpy()))

    def restrict(self, memory, vocab):
        from dataclasses import replace

        return replace(memory, output_weight=memory.output_weight[vocab],
                       output_bias=memory.output_bias[vocab])

    def step(self, prev, state, memory):
        from nmt.contract import DecoderState, Memory
        from nmt.runtime.model import State

        t = torch.from_numpy
        carried = None if state.attention is None else t(state.attention)
        with torch.no_grad():
            logp, weights, new = self.model.decoder.step(
                t(prev), DecoderState(tuple(t(p) for p in state.parts), t(state.feed), carried),
                Memory(t(memory.keys), t(memory.cache), t(memory.mask), t(memory.output_weight),
                       t(memory.output_bias)))
        return logp.numpy(), weights.numpy(), State(
            tuple(p.numpy() for p in new.rnn), new.feed.numpy(),
            None if new.attention is None else new.attention.numpy())


@pytest.mark.parametrize("settings", [
    {}, {"beam": 1}, {"shortlist": False}, {"no_repeat_ngram": 2, "min_length": 12},
    {"nbest": 3, "length_penalty": 0.6, "max_length_ratio": 0.5}, {"prefixes": True},
    {"coverage_penalty": 0.4},
])
def test_numpy_search_equals_the_torch_search_on_the_same_steps(bundled_export, settings):
    """Every rule of nmt.search, in numpy: same hypotheses, same scores, same attention.

    The bundled model, not the tiny one: a barely trained model's near-flat distributions have
    exact ties between beams, which torch's topk orders its own way."""
    settings = dict(settings)
    nbest, use_prefixes = settings.pop("nbest", 1), settings.pop("prefixes", False)
    torch_path = Translator.load()
    onnx_path = runtime.Translator.load(bundled_export)
    onnx_path.model = TorchSteps(torch_path.model)
    ids = torch_path.src_tokenizer.encode_batch(dev_sources(5))
    prefixes = None
    if use_prefixes:
        prefixes = [torch_path.tgt_tokenizer.encode(p) for p in ("Et", "", "Jésus", "Il dit", "")]
    a = torch_path.search(ids, torch_path.resolve(**settings), nbest=nbest, keep_attention=True,
                          prefixes=prefixes)
    b = onnx_path.search(ids, onnx_path.resolve(**settings), nbest=nbest, keep_attention=True,
                         prefixes=prefixes)
    assert [[h.tokens for h in hyps] for hyps in a] == [[h.tokens for h in hyps] for hyps in b]
    for x, y in zip(sum(a, []), sum(b, [])):
        assert x.score == pytest.approx(y.score, abs=1e-5)  # logsumexp: torch's and numpy's
        np.testing.assert_allclose(x.attention.numpy(), y.attention, atol=1e-6)


def test_runtime_tokenizers_are_plain_tokenizers_json(tiny_model, tiny_export):
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(tiny_export / "src_tokenizer.json"))
    ours = runtime.Translator.load(tiny_export).src_tokenizer
    reference = Translator.load(tiny_model).src_tokenizer
    for text in dev_sources(10) + ["naïve café, 'quotes' — and ünïcödé!"]:
        ids = raw.encode(text, add_special_tokens=False).ids
        assert ours.encode(text) == reference.encode(text) == ids
        assert ours.decode(ids) == reference.decode(ids) == raw.decode(ids, skip_special_tokens=True)


@pytest.mark.parametrize("settings", [
    (), ("decoding.shortlist=false",), ("decoding.no_repeat_ngram=2", "decoding.min_length=12"),
    ("decoding.beam=1",),
])
def test_bundled_model_translates_as_torch(bundled_export, settings):
    sources = ["In the beginning God created the heaven and the earth.",
               "And God said, Let there be light: and there was light.",
               "Jesus wept.", "Blessed are the meek: for they shall inherit the earth."]
    expected = Translator.load(overrides=settings).translate(sources)
    assert runtime.Translator.load(bundled_export, threads=1, overrides=settings).translate(sources) == expected
    if not settings:
        [t], [o] = (Translator.load().translate_detailed(sources[1], nbest=1),
                    runtime.Translator.load(bundled_export).translate_detailed(sources[1], nbest=1))
        assert (o.text, o.src_pieces, o.tgt_pieces) == (t.text, t.src_pieces, t.tgt_pieces)
        np.testing.assert_allclose(o.attention, t.attention, atol=1e-4)


def test_int8_export_is_smaller_and_translates(tiny_model, tiny_export, tmp_path):
    info = export_onnx(tiny_model, tmp_path, quantize="int8")
    graphs = ("encoder.onnx", "decoder.onnx", "output_rows.onnx")
    fp32 = manifest.read(tiny_export)["files"]
    assert sum(info["files"][g]["bytes"] for g in graphs) < 0.5 * sum(fp32[g]["bytes"] for g in graphs)
    translator = runtime.Translator.load(tmp_path, threads=1)
    assert translator.options.quantize == "int8"
    assert all(translator.translate(dev_sources(4)))


def test_a_tampered_file_is_refused_with_a_clear_error(tiny_export, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_export, copy)
    data = bytearray((copy / "decoder.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "decoder.onnx").write_bytes(bytes(data))
    with pytest.raises(NmtError, match=r"decoder\.onnx was modified.*export the model again"):
        runtime.Translator.load(copy)
    shutil.copyfile(tiny_export / "decoder.onnx", copy / "decoder.onnx")
    (copy / "shortlist.safetensors").unlink()
    with pytest.raises(NmtError, match=r"shortlist\.safetensors is missing"):
        manifest.read(copy)


def test_cli_export_onnx_and_translate(tiny_model, tmp_path):
    def nmt(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nmt", *args], input=stdin,
                              capture_output=True, text=True, timeout=300)

    out = tmp_path / "onnx"
    bad = nmt("export", str(tiny_model), "--out", str(out), "--format", "onnx", "--fp16")
    assert bad.returncode == 2 and "--quantize int8" in bad.stderr
    bad = nmt("export", str(tiny_model), "--out", str(out), "--quantize", "int8")
    assert bad.returncode == 2 and "--format onnx" in bad.stderr
    done = nmt("export", str(tiny_model), "--out", str(out), "--format", "onnx")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == "onnx"
    sources = "\n".join(dev_sources(3)) + "\n"
    exported = nmt("translate", "--model", str(out), "--threads", "1", stdin=sources)
    assert exported.returncode == 0, exported.stderr
    # (the runtime's parity with torch is the bundled model's tests: a tiny model is all ties)
    assert exported.stdout.splitlines() == runtime.Translator.load(out).translate(dev_sources(3))
    bad = nmt("translate", "--model", str(out), "--quantize", "int8", stdin=sources)
    assert bad.returncode == 2 and "drop --quantize" in bad.stderr
    cut = nmt("translate", "--model", str(out), "--set", "decoding.max_source_length=3",
              stdin=sources)
    assert cut.returncode == 0 and "3 line(s) were truncated" in cut.stderr, cut.stderr


def test_runtime_warns_as_torch_does_naming_the_callers_line(tiny_model, tiny_export):
    """One TruncatedInputWarning class for both translators (a filter on either catches both),
    raised at the line that called either text method."""
    from nmt.translator import TruncatedInputWarning

    long_text = " ".join(dev_sources(2))
    for translator in (Translator.load(tiny_model), runtime.Translator.load(tiny_export)):
        opts = translator.resolve(max_source_length=3, beam=1)
        for call in (lambda: translator.translate([long_text], options=opts),
                     lambda: translator.translate_detailed(long_text, options=opts)):
            with pytest.warns(TruncatedInputWarning, match="truncated to 3") as caught:
                call()
            assert [Path(w.filename).name for w in caught] == [Path(__file__).name]


@pytest.mark.parametrize("role, name", [("cell", "sru"), ("attention", "local"),
                                        ("attention", "coverage")])
def test_plugins_and_stateful_attention_export(tmp_path, role, name):
    """The SRU cell's step traces, so its encoder runs as an ONNX Loop; local attention has no
    attend_all, so the step graph attends row by row; coverage attention carries a state from
    step to step, which the graphs pass along with the recurrent state."""
    from nmt.training.trainer import train

    kind = {"cell": "cells", "attention": "attention"}[role]
    if name not in registry.components(kind):
        pytest.skip(f"the example plugin with {role} {name!r} is not installed")
    cfg = micro_config(max_steps=4)
    setattr(cfg.model, role, name)
    run = tmp_path / name
    train(cfg, run, progress=False)
    out = export_onnx(run, tmp_path / "onnx")
    assert out["model"]["meta"]["components"][role]["name"] == name
    # Beam search on a model trained for 4 steps is all near-ties, so compare what the graphs
    # compute: three decoding steps of a padded batch with beam 2, against torch.
    onnx_path, torch_path = runtime.Translator.load(tmp_path / "onnx"), Translator.load(run)
    ids = torch_path.src_tokenizer.encode_batch(dev_sources(3))
    src = np.zeros((3, max(map(len, ids))), dtype=np.int64)
    for i, x in enumerate(ids):
        src[i, : len(x)] = x
    lengths = np.array([len(x) for x in ids])
    rows = np.repeat(np.arange(3), 2)
    memory, state = onnx_path.model.encode(src, lengths)
    state = state.select(rows)
    with torch.no_grad():
        _, t_memory, t_state = torch_path.model.start(torch.from_numpy(src), torch.from_numpy(lengths))
        t_state = t_state.select(torch.from_numpy(rows))
        prev = np.full(6, 2)
        for _ in range(3):
            logp, weights, state = onnx_path.model.step(prev, state, memory)
            t_logp, t_weights, t_state = torch_path.model.decoder.step(torch.from_numpy(prev), t_state, t_memory)
            np.testing.assert_allclose(logp, t_logp.numpy(), atol=1e-4)
            np.testing.assert_allclose(weights, t_weights.numpy(), atol=1e-5)
            prev = logp.argmax(1)


def test_an_untraceable_step_fails_naming_the_components(tiny_model, tmp_path, monkeypatch):
    """A step whose Python branches on a size cannot be one graph: the check on other sizes
    than the traced ones catches it and names the components."""
    from nmt.decoders import AttentionalRNNDecoder

    step = AttentionalRNNDecoder.step

    def size_dependent(self, prev, state, memory):
        logp, weights, new = step(self, prev, state, memory)
        return (logp * 2 if prev.size(0) == 4 else logp), weights, new  # 4: the traced rows

    monkeypatch.setattr(AttentionalRNNDecoder, "step", size_dependent)
    with pytest.raises(NmtError, match=r"decoder\.onnx disagrees.*cell 'lstm'"):
        export_onnx(tiny_model, tmp_path)


def test_runtime_runs_in_a_venv_without_torch(bundled_export, tmp_path):
    """The documented light install: onnxruntime, tokenizers and numpy, then nmt itself with
    --no-deps; the CLI translates with the exported bundled model and never imports torch."""
    source = tmp_path / "source"  # what a wheel holds, copied so the build writes nothing here
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".*", "runs", "tests", "benchmarks", "plugins", "docs", "configs", "build", "dist",
        "*.egg-info", "__pycache__"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for args in (["-c", str(ROOT / "constraints.txt"), "onnxruntime", "tokenizers", "numpy"],
                 ["--no-deps", str(source)]):
        install = subprocess.run(pip + args, capture_output=True, text=True, timeout=600, env=env)
        if install.returncode != 0:
            pytest.skip(f"cannot install {args[-1]} here: {install.stderr.strip()[-300:]}")
    script = (
        "import sys\n"
        "from nmt.cli import main\n"
        f"code = main(['translate', '--model', {str(bundled_export)!r}, '--threads', '1'])\n"
        "heavy = sorted(m for m in ('torch', 'yaml', 'gradio', 'datasets') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(code or (3 if heavy else 0))\n"
    )
    proc = subprocess.run([python, "-c", script], input="Jesus wept.\n", cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr
    assert proc.stdout.strip() == Translator.load().translate(["Jesus wept."])[0]
    assert subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0


def test_the_ui_serves_an_exported_model_with_attention_and_live_mode(bundled_export, tmp_path):
    from nmt.ui.handlers import Handlers
    from nmt.ui.models import load_catalog

    catalog = load_catalog([bundled_export], bundled=True)
    exported, original = catalog.entries
    assert isinstance(exported.translator, runtime.Translator)
    assert exported.search_defaults == original.search_defaults
    handlers = Handlers(catalog, tmp_path)
    text = "And God said, Let there be light: and there was light."
    best, rows, heatmap, _, _ = handlers.translate(text, 3, 1.0, 2, exported.key)
    assert (best, len(rows)) == (handlers.translate(text, 3, 1.0, 2, original.key)[0], 2)
    assert heatmap
    page, _ = handlers.live_final(text, 3, 1.0, exported.key)
    assert page == handlers.live_final(text, 3, 1.0, original.key)[0]
