"""Third-party plugins for real: the examples under plugins/ are pip-installed into this
environment, found through their entry points, trained, saved, loaded and used for translation
through the CLI. Broken plugins are real distributions too (a dist-info written to a temporary
directory); `nmt plugins` reports them and every other command keeps working.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import DATA, tiny_config
from nmt import NmtError, contracts, registry
from nmt.cli import main as nmt_main
from nmt.recurrent import RecurrentStack
from nmt.scaffold import plugin_names

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {  # distribution -> (import package, kind, entry-point names)
    "nmt-sru": ("nmt_sru", "cells", ["sru"]),
    "nmt-local-attention": ("nmt_local_attention", "attention", ["local"]),
    "nmt-sentencepiece": ("nmt_sentencepiece", "tokenizers", ["sentencepiece", "sentencepiece-bpe"]),
}
NMT = [sys.executable, "-m", "nmt"]
# The distribution that installs the nmt package (and registers the built-in components).
NMT_DIST = importlib.metadata.packages_distributions()["nmt"][0]
# Tiny models gain nothing from threads, and on a busy machine threads make them crawl.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                   check=True, capture_output=True, text=True)


def _editable_from(distribution: str, source: Path) -> bool:
    """Whether ``distribution`` is installed in editable mode from ``source``."""
    try:
        direct = importlib.metadata.distribution(distribution).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return False
    info = json.loads(direct or "{}")
    return bool(info.get("dir_info", {}).get("editable")) and info.get("url") == source.as_uri()


@pytest.fixture(scope="session")
def example_plugins() -> dict:
    """``pip install -e plugins/NAME`` for each example, unless already installed from here."""
    for distribution, (package, _, _) in EXAMPLES.items():
        source = ROOT / "plugins" / distribution
        if not _editable_from(distribution, source):
            _pip("install", "--no-deps", "--no-build-isolation", "-e", str(source))
        importlib.invalidate_caches()
        if importlib.util.find_spec(package) is None:
            # An editable install's import hook (a .pth file) runs when Python starts; this
            # interpreter started before it existed, so point it at the same sources.
            sys.path.append(str(source))
    registry.components.cache_clear()
    return EXAMPLES


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(*args: str, input: str | None = None, env: dict | None = None,
         check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*NMT, *args], input=input, capture_output=True, text=True,
                            env=env or ENV)
    if check and result.returncode != 0:
        raise AssertionError(f"nmt {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def _config_file(path: Path, **training) -> Path:
    cfg = tiny_config(dev_max_examples=4)
    cfg.training.threads = 1
    for key, value in training.items():
        setattr(cfg.training, key, value)
    path.write_text(cfg.to_yaml(), encoding="utf-8")
    return path


# -- registration and the contract -----------------------------------------------------------

def test_examples_register_through_real_metadata(example_plugins):
    for distribution, (package, kind, names) in example_plugins.items():
        version = importlib.metadata.version(distribution)
        for name in names:
            comp = registry.get(kind, name)
            assert (comp.distribution, comp.version) == (distribution, version)
            cls = comp.load()
            assert cls.__module__.startswith(package + ".")
            assert contracts.check(kind, cls) is None


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "sru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_generic_loop_matches_fused_path_with_gradients(cell, bidirectional, example_plugins,
                                                        one_thread):
    """Same weights, same outputs, final states and gradients; padded steps change nothing."""
    torch.manual_seed(0)
    stack = RecurrentStack(registry.load("cells", cell), 5, 7, num_layers=2,
                           bidirectional=bidirectional, dropout=0.3).eval()
    assert stack.use_fused
    x = torch.randn(4, 6, 5)
    lengths = torch.tensor([6, 3, 1, 5])
    runs = []
    for fused in (True, False):
        stack.use_fused = fused
        stack.zero_grad()
        inputs = x.clone().requires_grad_()
        out, state = stack(inputs, lengths)
        (out.square().sum() + sum(s.sum() for s in state)).backward()
        alone, _ = stack(x[1:2, :3], lengths[1:2])
        runs.append([out, *state, inputs.grad, *(p.grad for p in stack.parameters())])
        torch.testing.assert_close(out[1:2, :3], alone, atol=1e-5, rtol=1e-4)
        assert out[1, 3:].abs().sum() == 0 and out[2, 1:].abs().sum() == 0
        assert inputs.grad[1, 3:].abs().sum() == 0  # padding receives no gradient
    for a, b in zip(*runs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_contract_version_mismatch_says_which_side_to_upgrade():
    class Behind:
        contract = contracts.CONTRACT_VERSION - 1

    class Ahead:
        contract = contracts.CONTRACT_VERSION + 1

    assert "upgrade the plugin" in contracts.check("attention", Behind)
    assert "upgrade nmt" in contracts.check("attention", Ahead)
    with pytest.raises(NmtError, match="'ahead' from nmt-future 9.0 is broken: .*upgrade nmt"):
        contracts.validated("attention", "ahead", Ahead, "nmt-future 9.0")


def test_contract_probe_catches_what_static_checks_cannot():
    import torch.nn as nn

    class WrongStateShape(nn.Module):
        contract = contracts.CONTRACT_VERSION

        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.hidden_size = hidden_size

        def initial_state(self, batch, device, dtype):
            return (torch.zeros(self.hidden_size, batch),)

        def forward(self, x, state):
            return x, state

    class FusedDisagrees(nn.Module):
        contract = contracts.CONTRACT_VERSION

        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.proj = nn.Linear(input_size, hidden_size)

        def initial_state(self, batch, device, dtype):
            return (torch.zeros(batch, self.proj.out_features),)

        def forward(self, x, state):
            h = torch.tanh(self.proj(x) + state[0])
            return h, (h,)

        @classmethod
        def fused_sequence(cls, layers, inputs, lengths, state, dropout, training):
            batch, time = inputs.shape[:2]
            width = layers[0][0].proj.out_features * len(layers[0])
            return inputs.new_zeros(batch, time, width), state

    assert "(batch, hidden_size)" in contracts.check("cells", WrongStateShape)
    problem = contracts.check("cells", FusedDisagrees)
    assert "fused_sequence disagrees with the single-step loop on the same weights: the outputs " \
           "differ by up to" in problem
    assert "(max abs difference; tolerance 0.0001)" in problem
    assert "expected (loop)" in problem and "got (fused) 0" in problem
    with pytest.raises(NmtError, match="cells plugin 'x' is broken"):
        contracts.validated("cells", "x", FusedDisagrees)


def _dist_info(site: Path, distribution: str, entry_points: str, modules: dict[str, str]) -> None:
    """A real installed distribution in ``site``: a *.dist-info with METADATA and
    entry_points.txt, plus its modules."""
    info = site / f"{distribution.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    for name, text in modules.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_name_claimed_by_two_distributions_is_refused_not_silently_picked(tmp_path):
    _dist_info(tmp_path, "nmt-shadow", "[nmt.cells]\nlstm = nmt_shadow:Cell\n", {})
    sys.path.insert(0, str(tmp_path))
    registry.components.cache_clear()
    try:
        with pytest.raises(NmtError, match="registered by .* and by .*uninstall all but one"):
            registry.load("cells", "lstm")
        rows = [r for r in registry.describe_all() if r["name"] == "lstm"]
        assert rows[0]["status"] == "broken" and "nmt-shadow" in rows[0]["error"]
        assert registry.load("cells", "gru")  # every other name is unaffected
    finally:
        sys.path.remove(str(tmp_path))
        registry.components.cache_clear()


BROKEN_MODULES = {
    "nmt_broken_demo/__init__.py": "",
    "nmt_broken_demo/explodes.py": "raise RuntimeError('the demo plugin exploded on import')\n",
    "nmt_broken_demo/bad.py": '''\
import torch
from torch import nn


class OldContract(nn.Module):
    contract = 0

    def initial_state(self, batch, device, dtype):
        pass

    def forward(self, x, state):
        pass


class NoForward:
    contract = 1

    def initial_state(self, batch, device, dtype):
        pass


class TransposedState(nn.Module):
    contract = 1

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size

    def initial_state(self, batch, device, dtype):
        return (torch.zeros(self.hidden_size, batch),)

    def forward(self, x, state):
        return x, state


class AttendsToPadding(nn.Module):
    contract = 1

    def __init__(self, query_size, key_size):
        super().__init__()

    def precompute(self, keys):
        return keys

    def forward(self, query, keys, cache, mask):
        weights = torch.full(mask.shape, 1.0 / mask.size(1))
        return torch.bmm(weights.unsqueeze(1), keys).squeeze(1), weights


class WrongIds:
    contract = 1
    pad_id, unk_id, bos_id, eos_id = 1, 0, 2, 3

    @classmethod
    def train(cls, texts, vocab_size, min_frequency=2): pass
    @classmethod
    def load(cls, path): pass
    def save(self, path): pass
    def encode(self, text): pass
    def encode_batch(self, texts): pass
    def decode(self, ids): pass
    def pieces(self, ids): pass
''',
}
BROKEN_ENTRY_POINTS = """\
[nmt.cells]
explodes = nmt_broken_demo.explodes:Cell
old_contract = nmt_broken_demo.bad:OldContract
no_forward = nmt_broken_demo.bad:NoForward
transposed = nmt_broken_demo.bad:TransposedState
missing_class = nmt_broken_demo.bad:DoesNotExist

[nmt.attention]
pads = nmt_broken_demo.bad:AttendsToPadding

[nmt.tokenizers]
wrong_ids = nmt_broken_demo.bad:WrongIds
"""
BROKEN_ERRORS = {
    ("cells", "explodes"): "RuntimeError: the demo plugin exploded on import",
    ("cells", "old_contract"): "written for plugin contract 0, this nmt implements contract 1",
    ("cells", "no_forward"): "lacks forward",
    ("cells", "transposed"): "must return a non-empty tuple of (batch, hidden_size)",
    ("cells", "missing_class"): "DoesNotExist",
    ("attention", "pads"): "weights must be zero at padded source positions",
    ("tokenizers", "wrong_ids"): "pad_id = 0, unk_id = 1",
}


def test_broken_plugins_are_reported_and_every_other_command_works(tmp_path):
    site = tmp_path / "site"
    _dist_info(site, "nmt-broken-demo", BROKEN_ENTRY_POINTS, BROKEN_MODULES)
    env = {**ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), ENV.get("PYTHONPATH")]))}

    listing = _run("plugins", "--json", env=env)
    rows = {(r["kind"], r["name"]): r for r in json.loads(listing.stdout)}
    for key, error in BROKEN_ERRORS.items():
        assert rows[key]["status"] == "broken" and rows[key]["distribution"] == "nmt-broken-demo"
        assert error in rows[key]["error"], (key, rows[key]["error"])
    assert all(r["status"] == "ok" for key, r in rows.items() if key not in BROKEN_ERRORS)
    text = _run("plugins", env=env).stdout
    assert "broken" in text and "error: cells plugin 'explodes' from nmt-broken-demo" in text
    assert "got RuntimeError: the demo plugin exploded on import" in text

    # Built-in components still train and translate beside the broken plugin.
    cfg = _config_file(tmp_path / "tiny.yaml", max_steps=2, eval_every=2, log_every=1)
    _run("train", "--config", str(cfg), "--out", str(tmp_path / "model"), "--quiet", env=env)
    out = _run("translate", "--model", str(tmp_path / "model"), input="In the beginning\nAmen\n",
               env=env)
    assert len(out.stdout.splitlines()) == 2

    # Naming a broken plugin fails at once, with no traceback and word for word the error
    # `nmt plugins` gave.
    for cell in ("explodes", "old_contract", "transposed"):
        failed = _run("train", "--config", str(cfg), "--out", str(tmp_path / cell),
                      "--set", f"model.cell={cell}", env=env, check=False)
        assert failed.returncode == 2 and rows[("cells", cell)]["error"] in failed.stderr
        assert "Traceback" not in failed.stderr


# -- end to end through the CLI ----------------------------------------------------------------

@pytest.fixture(scope="module")
def plugin_model(example_plugins, tmp_path_factory) -> Path:
    """A tiny model whose cell, attention and tokenizer all come from the example plugins."""
    tmp = tmp_path_factory.mktemp("plugin-model")
    cfg = _config_file(tmp / "tiny.yaml", max_steps=8, eval_every=8, log_every=4)
    out = tmp / "model"
    _run("train", "--config", str(cfg), "--out", str(out), "--quiet",
         "--set", "model.cell=sru", "--set", "model.attention=local",
         "--set", "tokenizer.type=sentencepiece", "--set", "model.encoder_layers=2")
    return out


def test_plugin_model_trains_saves_loads_and_translates(plugin_model, example_plugins):
    meta = json.loads((plugin_model / "nmt.json").read_text(encoding="utf-8"))
    expected = {"cell": ("sru", "nmt-sru"), "attention": ("local", "nmt-local-attention"),
                "tokenizer": ("sentencepiece", "nmt-sentencepiece"),
                "encoder": ("rnn", NMT_DIST), "decoder": ("rnn", NMT_DIST)}
    for role, (name, distribution) in expected.items():
        assert meta["components"][role] == {
            "name": name, "distribution": distribution,
            "version": importlib.metadata.version(distribution)}
    assert json.loads((plugin_model / "src_tokenizer.json").read_text())["format"] == "nmt-sentencepiece"
    saved = yaml.safe_load((plugin_model / "config.yaml").read_text(encoding="utf-8"))
    assert saved["model"]["attention_options"] == {"window": 10}  # resolved: the checkpoint records it
    lines = (DATA / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()[:3]
    out = _run("translate", "--model", str(plugin_model), "--beam", "2",
               input="\n".join(lines) + "\n").stdout
    assert len(out.splitlines()) == 3


def test_model_without_its_plugin_says_which_package_to_install(plugin_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(plugin_model, copy)
    meta = json.loads((copy / "nmt.json").read_text(encoding="utf-8"))
    # As on a machine where the cell's package is missing: its name is nowhere registered.
    meta["components"]["cell"] = {"name": "sru-next", "distribution": "nmt-sru-next",
                                  "version": "2.0.0"}
    (copy / "nmt.json").write_text(json.dumps(meta), encoding="utf-8")
    failed = _run("translate", "--model", str(copy), input="Amen\n", check=False)
    assert failed.returncode == 2
    assert "pip install 'nmt-sru-next'" in failed.stderr and "2.0.0" in failed.stderr


# -- scaffolding -------------------------------------------------------------------------------

def test_scaffold_names_and_refusals(tmp_path, capsys):
    names = plugin_names("cell", "layer-norm-lstm")
    assert (names.distribution, names.package, names.class_name, names.group) == (
        "nmt-layer-norm-lstm", "nmt_layer_norm_lstm", "LayerNormLstmCell", "nmt.cells")
    with pytest.raises(NmtError, match="lowercase letters.*e.g. 'my_cell'"):
        plugin_names("cell", "My Cell")
    with pytest.raises(NmtError, match="without the 'nmt-' prefix"):
        plugin_names("attention", "nmt-coverage")
    assert nmt_main(["plugin", "new", "cell", "gru", "--out", str(tmp_path / "x")]) == 2
    assert f"the cell name 'gru' is already registered by {NMT_DIST}" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("")
    assert nmt_main(["plugin", "new", "tokenizer", "ws", "--out", str(tmp_path / "full")]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["cell", "attention", "tokenizer"])
def test_generated_plugin_installs_and_its_tests_pass(kind, tmp_path, capsys):
    name = f"scaffolded-{kind}"
    root = tmp_path / f"nmt-{name}"
    assert nmt_main(["plugin", "new", kind, name, "--out", str(root)]) == 0
    assert f"pip install -e {root}" in capsys.readouterr().out
    _pip("install", "--no-deps", "--no-build-isolation", "-e", str(root))
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                                cwd=root, capture_output=True, text=True, env=ENV)
        assert result.returncode == 0, result.stdout + result.stderr
        assert " passed" in result.stdout and "failed" not in result.stdout
    finally:
        _pip("uninstall", "-y", f"nmt-{name}")
        registry.components.cache_clear()
