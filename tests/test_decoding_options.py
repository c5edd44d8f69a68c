"""Decoding settings are resolved once and mean the same on every path: the Python API, the
`nmt translate` command, the web UI's file handler and `nmt evaluate --model`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nmt import NmtError, Translator
from nmt.cli import main
from nmt.config import DecodingOptions
from nmt.translator import BUNDLED_MODEL

DATA = Path(__file__).parent / "data"
LINES = (DATA / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()[:8]
REFS = (DATA / "bible-sample.dev.fr").read_text(encoding="utf-8").splitlines()[:8]


def quantized(translator: Translator) -> bool:
    return isinstance(translator.model.decoder.output, torch.ao.nn.quantized.dynamic.Linear)


def test_translate_set_decoding_quantize_quantizes_the_model(tmp_path, monkeypatch):
    loaded: list[Translator] = []
    real_load = Translator.load.__func__

    def load_and_keep(cls, *args, **kwargs):  # the real load; the test keeps what it returns
        loaded.append(real_load(cls, *args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(Translator, "load", classmethod(load_and_keep))
    src, out = tmp_path / "in.en", tmp_path / "out.fr"
    src.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    assert main(["translate", "--set", "decoding.quantize=int8", "-i", str(src), "-o", str(out)]) == 0
    (translator,) = loaded
    assert translator.options.quantize == "int8" and quantized(translator)
    monkeypatch.undo()
    int8 = Translator.load(quantize="int8")
    assert quantized(int8) and not quantized(Translator.load())
    assert out.read_text(encoding="utf-8").splitlines() == int8.translate(LINES)


def test_options_are_checked_like_a_config_and_frozen():
    translator = Translator.load(overrides=["decoding.beam=2"])
    assert translator.options.beam == 2 and translator.resolve(beam=4).beam == 4
    assert translator.options.beam == 2  # a call's change is its own
    with pytest.raises(NmtError, match="decoding.beam"):
        translator.resolve(beam=0)
    with pytest.raises(NmtError, match="Did you mean 'decoding.beam'"):
        translator.options.updated(beem=3)
    with pytest.raises(NmtError, match="chosen when the model is loaded"):
        translator.translate(["Hello."], options=translator.options.updated(quantize="int8"))
    with pytest.raises(NmtError, match="decoding"):
        Translator.load(overrides=["model.cell=gru"])
    with pytest.raises(AttributeError):
        translator.options.beam = 3  # type: ignore[misc]
    assert isinstance(translator.options, DecodingOptions)


def test_cli_ui_and_evaluate_decode_alike(tmp_path):
    """One input, one setting (beam 3, length penalty 0.6), four ways in: one output."""
    from nmt.ui.handlers import Handlers
    from nmt.ui.models import ModelCatalog

    src, ref = tmp_path / "src.en", tmp_path / "ref.fr"
    src.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    ref.write_text("\n".join(REFS) + "\n", encoding="utf-8")
    translator = Translator.load()
    api = translator.translate(LINES, beam=3, length_penalty=0.6)

    cli_out = tmp_path / "cli.fr"
    subprocess.run([sys.executable, "-m", "nmt", "translate", "-k", "3", "--length-penalty", "0.6",
                    "-i", str(src), "-o", str(cli_out)], check=True, capture_output=True, timeout=300)

    (tmp_path / "ui").mkdir()
    handlers = Handlers(ModelCatalog([translator]), tmp_path / "ui")
    ui_out, _ = handlers.translate_file(str(src), 3, 0.6, translator.name,
                                        progress=lambda *args, **kwargs: None)

    eval_out = tmp_path / "evaluate.fr"
    report = subprocess.run(
        [sys.executable, "-m", "nmt", "evaluate", "--model", str(BUNDLED_MODEL), "--src", str(src),
         "--ref", str(ref), "--beam", "3", "--length-penalty", "0.6", "--hyp-out", str(eval_out),
         "--json"], check=True, capture_output=True, text=True, timeout=300)
    decoding = json.loads(report.stdout)["systems"][0]["decoding"]
    assert (decoding["beam"], decoding["length_penalty"]) == (3, 0.6)
    assert decoding == {**vars(translator.options), "beam": 3, "length_penalty": 0.6}

    for name, path in (("nmt translate", cli_out), ("UI upload", ui_out), ("nmt evaluate", eval_out)):
        assert Path(path).read_text(encoding="utf-8").splitlines() == api, name

