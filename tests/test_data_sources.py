"""Several training sources in one run: weights, corpus names with Bible versions, and checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nmt import config
from nmt.config import DataConfig
from nmt.data.bible import FORMAT
from nmt.data.corpus import load_splits, resolve_corpus
from nmt.errors import NmtError


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def test_sources_are_concatenated_with_their_weights(data_dir: Path) -> None:
    pairs, sample = str(data_dir / "pairs"), str(data_dir / "bible-sample.train")
    n_pairs, n_sample = len(lines(data_dir / "pairs.en")), len(lines(data_dir / "bible-sample.train.en"))
    cfg = config.from_dict({"data": {
        "train": [pairs, {"source": sample, "weight": 2}, {"source": pairs, "weight": 0.5}],
        "dev": str(data_dir / "bible-sample.dev"), "src_lang": "en", "tgt_lang": "fr"}})
    train = load_splits(cfg.data).train
    assert len(train) == n_pairs + 2 * n_sample + round(0.5 * n_pairs)
    assert train.src[:n_pairs] == lines(data_dir / "pairs.en")
    doubled = train.src[n_pairs : n_pairs + 2 * n_sample]
    assert doubled[:n_sample] == doubled[n_sample:] == lines(data_dir / "bible-sample.train.en")
    half = train.src[n_pairs + 2 * n_sample :]
    assert len(set(half)) == len(half) and set(half) < set(lines(data_dir / "pairs.en"))
    assert load_splits(cfg.data).train == train  # the same half every time
    # max_train_examples caps each source, so a second source is never crowded out
    cfg.data.max_train_examples = 5
    assert len(load_splits(cfg.data).train) == 5 + 10 + round(0.5 * 5)


@pytest.mark.parametrize("train,message", [
    ([], "'data.train' is an empty list"),
    ([{"source": "a", "weigth": 2}], re.escape("unknown config key 'data.train[0].weigth'. Did you "
                                               "mean 'data.train[0].weight'")),
    (["a", {"source": "b", "weight": 0}], r"'data.train\[1\].weight' is 0.0, outside its range"),
    ([3], r"'data.train\[0\]' must be a data spec or a mapping"),
    ([{"weight": 1}], r"'data.train\[0\]' has no 'source'"),
    (["a", {"source": " "}], r"'data.train\[1\].source' is empty"),
])
def test_bad_source_lists_are_refused_with_the_key(train, message) -> None:
    with pytest.raises(NmtError, match=message):
        config.from_dict({"data": {"train": train}})


def stand_in(cache: Path, pair: str, verses: dict[str, list[str]]) -> Path:
    """A prepared corpus as resolve_corpus finds it (it trusts meta.json)."""
    directory = cache / "bible" / pair
    directory.mkdir(parents=True)
    for name, text in verses.items():
        (directory / name).write_text("".join(f"{t}\n" for t in text), encoding="utf-8")
    (directory / "meta.json").write_text(json.dumps({"format": FORMAT}), encoding="utf-8")
    return directory


def test_corpus_names_in_a_source_list_and_their_languages(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NMT_CACHE", str(tmp_path))
    for pair, english in (("en-fr", "old"), ("en@4-fr", "new")):
        stand_in(tmp_path, pair, {f"{s}.{lang}": [f"{english} {s} {lang}"]
                                  for s in ("train", "dev", "test") for lang in ("en", "fr")})
    stand_in(tmp_path, "de-fr", {"train.de": ["x"], "train.fr": ["y"]})
    splits = load_splits(DataConfig(train=["bible:en-fr", "bible:en@4-fr"], dev="bible:en-fr",
                                    test="bible:en-fr"))
    assert splits.train.src == ["old train en", "new train en"]
    assert splits.train.tgt == ["old train fr", "new train fr"]
    assert (splits.dev.src, splits.test.src) == (["old dev en"], ["old test en"])
    assert (splits.src_lang, splits.tgt_lang) == ("en", "fr")
    with pytest.raises(NmtError, match=r"data.train\[1\] names 'bible:de-fr', whose src_lang is "
                                       r"'de', but an earlier corpus is 'en'"):
        load_splits(DataConfig(train=["bible:en-fr", "bible:de-fr"]))
    with pytest.raises(NmtError, match="data.src_lang is 'es'.*Remove data.src_lang"):
        load_splits(DataConfig(train=["bible:en-fr"], src_lang="es"))


def test_a_bible_version_pairs_with_the_same_split_by_verse(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """World English Bible input with Segond output: the same verse keys in every split as the
    King James corpus, other English text."""
    monkeypatch.setenv("NMT_CACHE", str(tmp_path))
    kjv, _, _ = resolve_corpus("bible:en-fr")
    web, src, tgt = resolve_corpus("bible:en@4-fr")
    assert (web.name, src, tgt) == ("en@4-fr", "en", "fr")
    meta = json.loads((web / "meta.json").read_text(encoding="utf-8"))
    assert meta["src_version"]["code"] == "4" and meta["tgt_version"]["code"] == "l"
    assert meta["corpus"] == "bible:en@4-fr"
    for split in ("train", "dev", "test"):
        kjv_keys, web_keys = lines(kjv / f"{split}.keys"), lines(web / f"{split}.keys")
        assert set(web_keys) <= set(kjv_keys) and len(web_keys) > 0.95 * len(kjv_keys)
    test_kjv = dict(zip(lines(kjv / "test.keys"), lines(kjv / "test.en")))
    test_web = dict(zip(lines(web / "test.keys"), lines(web / "test.en")))
    assert sum(test_kjv[k] != v for k, v in test_web.items()) > 0.9 * len(test_web)
    french_kjv = dict(zip(lines(kjv / "test.keys"), lines(kjv / "test.fr")))
    french_web = dict(zip(lines(web / "test.keys"), lines(web / "test.fr")))
    assert all(french_kjv[k] == v for k, v in french_web.items())  # one target version
    with pytest.raises(NmtError, match="source version 'l' is Louis Segond 1910, a fr Bible"):
        resolve_corpus("bible:en@l-fr")
    with pytest.raises(NmtError, match="unknown Bible version code 'x'"):
        resolve_corpus("bible:en@x-fr")
