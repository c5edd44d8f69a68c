"""Components are found through real entry points; errors name what exists."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

from nmt import NmtError, config, registry
from nmt.contracts import check

# The distribution that installs the nmt package and registers the built-ins.
NMT_DIST = importlib.metadata.packages_distributions()["nmt"][0]
BUILT_INS = {
    "cells": {"lstm", "gru", "rnn"},
    "attention": {"bahdanau", "dot", "general"},
    "encoders": {"rnn"},
    "decoders": {"rnn"},
    "tokenizers": {"bpe", "unigram", "wordpiece", "char", "word"},
}


def test_built_ins_arrive_through_entry_points_with_provenance():
    for kind, names in BUILT_INS.items():
        found = registry.components(kind)
        assert names <= set(found)
        for name in names:
            assert found[name].distribution == NMT_DIST
            assert check(kind, found[name].load()) is None


def test_unknown_name_lists_available_and_closest_match():
    with pytest.raises(NmtError) as err:
        registry.get("cells", "lstn")
    message = str(err.value)
    assert "'lstm'" in message and "gru" in message and "rnn" in message


def test_contract_check_rejects_wrong_version_and_missing_methods():
    class OldCell:
        contract = 0

        def forward(self):
            pass

    class NoVersion:
        pass

    class Incomplete:
        contract = 1

    assert "contract 0" in check("cells", OldCell)
    assert "contract version" in check("cells", NoVersion)
    assert "initial_state" in check("cells", Incomplete)


def test_config_typos_fail_with_key_and_suggestion():
    with pytest.raises(NmtError, match=r"'model\.cel'. Did you mean 'model\.cell'"):
        config.from_dict({"model": {"cel": "gru"}})
    with pytest.raises(NmtError, match="training.learning_rate' must be float"):
        config.from_dict({"training": {"learning_rate": "fast"}})
    with pytest.raises(NmtError, match="model.dropout' is 1.5, outside"):
        config.from_dict({}, ["model.dropout=1.5"])
    cfg = config.from_dict({}, ["model.cell=gru", "training.max_steps=7"])
    assert cfg.model.cell == "gru" and cfg.training.max_steps == 7


def test_nmt_plugins_lists_every_component_as_json():
    out = subprocess.run([sys.executable, "-m", "nmt", "plugins", "--json"],
                         capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    listed = {(r["kind"], r["name"]): r for r in rows}
    built_in = {(k, n) for k, names in BUILT_INS.items() for n in names}
    assert built_in <= set(listed)
    assert all(listed[key]["distribution"] == NMT_DIST for key in built_in)
    # Installed plugins (tests/test_plugins.py installs the examples) are listed too.
    assert all(r["status"] == "ok" and r["version"] for r in rows)
    assert listed[("attention", "bahdanau")]["options"] == [  # each component's own options
        {"name": "attention_size", "type": "int | None", "default": None}]
    text = subprocess.run([sys.executable, "-m", "nmt", "plugins"], capture_output=True, text=True,
                          check=True).stdout
    assert "bahdanau" in text and "DISTRIBUTION" in text
