"""Shared test set-up: an offline, sandboxed environment and one tiny trained model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Must be set before gradio, datasets or huggingface_hub are imported anywhere.
_SANDBOX = Path(tempfile.mkdtemp(prefix="nmt-tests-"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ["HF_DATASETS_CACHE"] = str(_SANDBOX / "hf-datasets")
os.environ["GRADIO_TEMP_DIR"] = str(_SANDBOX / "gradio")
os.environ["NMT_CACHE"] = str(_SANDBOX / "nmt-cache")
# Test models are tiny: one thread each avoids oversubscribing the cores (tests run servers and
# subprocesses side by side), which otherwise slows tiny steps down by an order of magnitude.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Small committed samples (see tests/data/README.md)."""
    return DATA


def tiny_config(**data):
    """A model small enough to train in seconds on the committed Bible sample."""
    from nmt import config

    return config.from_dict({
        "data": {"train": str(DATA / "bible-sample.train"), "dev": str(DATA / "bible-sample.dev"),
                 "src_lang": "en", "tgt_lang": "fr", "dev_max_examples": 20, **data},
        "tokenizer": {"type": "bpe", "vocab_size": 400},
        "model": {"embedding_size": 32, "encoder_hidden_size": 32, "decoder_hidden_size": 64,
                  "dropout": 0.1},
        "training": {"batch_tokens": 1200, "learning_rate": 0.003, "max_steps": 60,
                     "eval_every": 30, "log_every": 10, "seed": 3},
        "decoding": {"beam": 3, "max_length_ratio": 1.5, "max_length_offset": 5},
    })


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A real model trained by the real trainer on the Bible sample (en -> fr)."""
    from nmt.training.trainer import train

    out = tmp_path_factory.mktemp("tiny-model") / "run"
    train(tiny_config(), out, progress=False)
    return out


def micro_config(**training):
    """Smaller still: for tests that train several runs (resume, torchrun, averaging)."""
    from nmt import config

    return config.from_dict({
        "data": {"train": str(DATA / "bible-sample.train"), "dev": str(DATA / "bible-sample.dev"),
                 "src_lang": "en", "tgt_lang": "fr", "dev_max_examples": 6, "max_train_examples": 240},
        "tokenizer": {"type": "bpe", "vocab_size": 260},
        "model": {"embedding_size": 16, "encoder_hidden_size": 16, "decoder_hidden_size": 32,
                  "dropout": 0.1},
        "training": {"batch_tokens": 500, "learning_rate": 0.003, "max_steps": 12,
                     "eval_every": 4, "log_every": 2, "seed": 5, "threads": 1, **training},
        "decoding": {"beam": 2, "max_length_ratio": 1.0, "max_length_offset": 3},
    })


SHORT_EXAMPLES = ["Jesus wept.", "Rejoice evermore."]


@pytest.fixture(scope="session")
def tiny_model_short(tiny_model, tmp_path_factory) -> Path:
    """A second model that translates differently, without training another.

    The tiny model's copy under another name, with decoding capped at a few pieces, so a
    test can tell which of two served models answered.
    """
    import json
    import shutil

    import yaml

    out = tmp_path_factory.mktemp("tiny-short") / "tiny-short"
    shutil.copytree(tiny_model, out)
    meta = json.loads((out / "nmt.json").read_text(encoding="utf-8"))
    meta["name"] = "tiny-short"
    meta.setdefault("scores", {})["dev_bleu"] = 1.5
    meta["examples"] = SHORT_EXAMPLES
    (out / "nmt.json").write_text(json.dumps(meta), encoding="utf-8")
    cfg = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    cfg["decoding"].update({"beam": 2, "max_length_ratio": 0.1, "max_length_offset": 2})
    (out / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return out
