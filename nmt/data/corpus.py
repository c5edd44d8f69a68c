"""Parallel text in, two aligned lists of sentences out, whatever the on-disk form.

Every local file is first read by nmt's one line rule (``nmt.textio``: lines end at ``\\n``,
``\\r\\n`` or ``\\r``, a BOM is dropped), so a file has as many lines for training as for
``nmt translate`` or ``nmt evaluate``, and a bad byte is an error naming the line. Plain-text
line files (PREFIX.SRC / PREFIX.TGT) are then used as read; tables (.tsv, .jsonl) and Hub
datasets go through the ``datasets`` library, tables as a copy with ``\\n`` line ends so that
it sees the same rows, with checks here first: datasets' own errors for a bad row or a missing
column are long tracebacks that don't name the line.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nmt.errors import NmtError
from nmt.textio import decode_lines

if TYPE_CHECKING:
    from nmt.config import DataConfig

FORMS = (
    "a FILE.tsv (src<TAB>tgt, no header), a FILE.jsonl/.json (one object per line), "
    "a PREFIX with files PREFIX.{src} and PREFIX.{tgt}, or hf:NAME[:CONFIG]"
)
_LANGUAGE_CODE = re.compile(r"[A-Za-z0-9_]+")
KNOWN_CORPORA = "bible:SRC-TGT (e.g. bible:en-fr; languages: see `nmt data list`)"
# Names a Hub dataset may use for each of nmt's splits, in order of preference.
HF_SPLITS = {"train": ("train",), "dev": ("validation", "dev", "valid"), "test": ("test",)}


@dataclass
class ParallelData:
    """Aligned sentences: ``src[i]`` translates to ``tgt[i]``."""

    src: list[str]
    tgt: list[str]

    def __len__(self) -> int:
        return len(self.src)

    def head(self, n: int | None) -> ParallelData:
        return self if n is None else ParallelData(self.src[:n], self.tgt[:n])


@dataclass
class Splits:
    """What a config's data section resolves to; the languages may come from a named corpus."""

    train: ParallelData
    dev: ParallelData | None
    test: ParallelData | None
    src_lang: str
    tgt_lang: str
    # Extra references for ``test`` (PREFIX.TGT.ref1, .ref2, ...): one list per reference.
    test_refs: list[list[str]] = field(default_factory=list)


def cache_dir() -> Path:
    """Where prepared corpora live; tests and shared machines point ``NMT_CACHE`` elsewhere."""
    env = os.environ.get("NMT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nmt"


def is_corpus_name(spec: str) -> bool:
    """Whether a data spec names a corpus nmt prepares (``bible:...``) rather than a file."""
    return spec.startswith("bible:")


def resolve_corpus(name: str) -> tuple[Path, str, str]:
    """``bible:SRC-TGT`` -> (directory of train/dev/test.{SRC,TGT}, SRC, TGT), built on first use.

    ``bible:SRC@V-TGT@W`` picks Bible versions other than the languages' primary ones (codes as
    in `nmt data list`), e.g. ``bible:en@4-fr`` for the World English Bible with Segond. The
    split is by verse key whatever the version, so no test verse of one version is a training
    verse of another. The build is atomic (a rename), so two processes racing here both end up
    with one corpus.
    """
    from nmt.data import bible

    kind, _, pair = name.partition(":")
    src, _, tgt = pair.partition("-")
    if kind != "bible" or not src or not tgt:
        raise NmtError(f"unknown corpus {name!r}. Known corpora: {KNOWN_CORPORA}.")
    (src, src_version), (tgt, tgt_version) = src.partition("@")[::2], tgt.partition("@")[::2]
    # They name a directory: nothing like '..' or '/' may reach the path.
    for code in (src, tgt) + tuple(v for v in (src_version, tgt_version) if v):
        if not _LANGUAGE_CODE.fullmatch(code):
            raise NmtError(
                f"corpus {name!r}: {code!r} is not a language or version code (letters, digits "
                "and '_' only). Write bible:SRC-TGT, e.g. bible:en-fr, or bible:en@4-fr for "
                "another version; see `nmt data list`."
            )
    directory = cache_dir() / "bible" / pair
    meta = bible.read_meta(directory)
    if meta is not None and meta.get("format") == bible.FORMAT:
        return directory, src, tgt
    try:
        # A stale format is rebuilt in place; a directory that is not ours is refused.
        bible.prepare_bible(src, tgt, directory, src_version=src_version or None,
                            tgt_version=tgt_version or None, force=meta is not None,
                            progress=True)
    except bible.OutputExistsError:
        # Another process won the race, or the directory holds something that is not a corpus.
        if bible.read_meta(directory) is None:
            raise NmtError(
                f"cache directory {str(directory)!r} exists but is not a prepared corpus; "
                "delete it or set NMT_CACHE to another directory."
            ) from None
    return directory, src, tgt


# ---------------------------------------------------------------------------------------------
# Byte-level checks and normalisation


def _read_lines(path: Path) -> tuple[list[str], bool]:
    """The file's lines by nmt's line rule, and whether its bytes hold anything but ``\\n``
    line ends (a ``\\r`` or a BOM), in which case datasets must be given a normalised copy."""
    data = path.read_bytes()
    lines = decode_lines(data, str(path))
    return lines, b"\r" in data or data.startswith(b"\xef\xbb\xbf")


@contextmanager
def _scratch() -> Iterator[Path]:
    """A throw-away datasets cache: local files are re-read every time, never a stale copy."""
    tmp = Path(tempfile.mkdtemp(prefix="nmt-data-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _clean_copy(path: Path, scratch: Path) -> tuple[Path, list[str]]:
    """Check ``path`` and return its lines and a file datasets can read as-is: the file itself,
    or a copy with ``\\n`` line ends, so datasets sees the rows nmt's line rule sees."""
    lines, changed = _read_lines(path)
    if not changed:
        return path, lines
    copy = scratch / "input" / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="\n")
    return copy, lines


@contextmanager
def _quiet_datasets() -> Iterator[Any]:
    """Import datasets with its per-file progress bars off (they are noise for local files)."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield datasets
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def _col(ds: Any, name: str) -> list[Any]:
    """A whole column as Python values, decoded in one batch (``list(ds[name])`` goes row by
    row, 100x slower; raw Arrow would leave datasets' ``Json`` columns as strings)."""
    return ds.select_columns([name]).to_dict()[name]


# ---------------------------------------------------------------------------------------------
# The forms


def _load_tsv(path: Path) -> ParallelData:
    import csv

    with _scratch() as scratch, _quiet_datasets() as datasets:
        clean, lines = _clean_copy(path, scratch)
        if not "".join(lines).strip():
            return ParallelData([], [])
        for n, line in enumerate(lines, start=1):
            if line and line.count("\t") != 1:
                raise NmtError(
                    f"{path}: line {n} has {line.count(chr(9)) + 1} tab-separated columns, "
                    "expected 2 (src<TAB>tgt). Text containing tabs needs .jsonl instead."
                )
        string = datasets.Value("string")  # "0.50" stays "0.50", not a float
        features = datasets.Features({"src": string, "tgt": string})
        ds = datasets.load_dataset(
            "csv", data_files=str(clean), split="train", sep="\t", header=None,
            names=["src", "tgt"], quoting=csv.QUOTE_NONE, keep_default_na=False,
            na_filter=False, features=features, keep_in_memory=True, cache_dir=str(scratch),
        )
        return ParallelData(_col(ds, "src"), _col(ds, "tgt"))


def _load_json(path: Path, src_lang: str, tgt_lang: str) -> ParallelData:
    with _scratch() as scratch, _quiet_datasets() as datasets:
        clean, lines = _clean_copy(path, scratch)
        if not "".join(lines).strip():
            return ParallelData([], [])
        try:
            ds = datasets.load_dataset(
                "json", data_files=str(clean), split="train", keep_in_memory=True,
                cache_dir=str(scratch),
            )
        except datasets.exceptions.DatasetGenerationError as exc:
            raise NmtError(
                f"{path}: {_json_problem(lines) or exc.__cause__ or exc}. Expected one object per "
                f'line, e.g. {{"{src_lang}": "...", "{tgt_lang}": "..."}}.'
            ) from None
        return _columns(ds, str(path), src_lang, tgt_lang)


def _json_problem(lines: list[str]) -> str | None:
    """The first line that is not JSON, as "line N: why"; pyarrow only gives a 0-based row."""
    import json

    if "".join(lines).lstrip().startswith("["):  # a JSON array over lines: no per-line answer
        return None
    for n, line in enumerate(lines, start=1):
        if line.strip():
            try:
                json.loads(line)
            except ValueError as exc:
                return f"line {n} is not valid JSON ({exc.msg})"
    return None


def _load_prefix(prefix: str, src_lang: str, tgt_lang: str) -> ParallelData:
    src_path, tgt_path = Path(f"{prefix}.{src_lang}"), Path(f"{prefix}.{tgt_lang}")
    # Read as they are: one sentence per line, empty lines kept so line i stays line i.
    src, tgt = (_read_lines(path)[0] for path in (src_path, tgt_path))
    if len(src) != len(tgt):
        raise NmtError(
            f"{src_path} has {len(src)} lines but {tgt_path} has {len(tgt)}: the two files must "
            "be line-aligned (line i of one translates line i of the other)."
        )
    return ParallelData(src, tgt)


def _parse_hf(rest: str) -> tuple[str, str | None]:
    if Path(rest).exists():  # a local directory in Hub layout
        return rest, None
    name, _, config = rest.partition(":")
    return name, config or None


def _load_hf(spec: str, src_lang: str, tgt_lang: str, split: str) -> ParallelData:
    name, config = _parse_hf(spec[3:])
    if not name:
        raise NmtError(f"data spec {spec!r}: expected hf:NAME or hf:NAME:CONFIG.")
    local = Path(name).is_dir()
    with _scratch() as scratch, _quiet_datasets() as datasets:
        kwargs: dict[str, Any] = {"keep_in_memory": True}
        if local:
            kwargs["cache_dir"] = str(scratch)
        try:
            dsd = datasets.load_dataset(name, config, **kwargs)
        except (FileNotFoundError, ConnectionError, ValueError) as exc:
            where = "the local directory" if local else "the Hugging Face Hub (or its cache)"
            raise NmtError(f"could not load {spec!r} from {where}: {exc}") from None
        available = list(dsd)
        names = HF_SPLITS.get(split, (split,))
        chosen = next((s for s in names if s in dsd), None)
        if chosen is None:
            raise NmtError(
                f"{spec!r} has no {split!r} split (looked for {', '.join(names)}); "
                f"it has: {', '.join(available)}."
            )
        return _columns(dsd[chosen], f"{spec} [{chosen}]", src_lang, tgt_lang)


def _columns(ds: Any, where: str, src_lang: str, tgt_lang: str) -> ParallelData:
    """Pick the two sides out of a datasets table, whichever of the accepted layouts it uses."""
    cols = list(ds.column_names)
    if src_lang in cols and tgt_lang in cols:
        src, tgt = _col(ds, src_lang), _col(ds, tgt_lang)
    elif "src" in cols and "tgt" in cols:
        src, tgt = _col(ds, "src"), _col(ds, "tgt")
    elif "translation" in cols:
        pairs = _col(ds, "translation")
        first = (pairs[0] or {}) if pairs else {}
        missing = [lang for lang in (src_lang, tgt_lang) if lang not in first]
        if pairs and missing:
            found = ", ".join(sorted(first)) or "none"
            raise NmtError(
                f"{where}: the 'translation' column has no {' or '.join(map(repr, missing))} key "
                f"(keys found: {found}). Set data.src_lang/data.tgt_lang to match."
            )
        src = [(p or {}).get(src_lang) for p in pairs]
        tgt = [(p or {}).get(tgt_lang) for p in pairs]
    else:
        raise NmtError(
            f"{where}: no columns for the sentence pairs. "
            f"Found columns: {', '.join(cols) or 'none'}; "
            f"expected '{src_lang}' and '{tgt_lang}', 'src' and 'tgt', or 'translation'."
        )
    for side, values in (("source", src), ("target", tgt)):
        for i, value in enumerate(values, start=1):
            if not isinstance(value, str):
                raise NmtError(
                    f"{where}: record {i}: the {side} text is {value!r}, expected a string."
                )
    return ParallelData(src, tgt)


def load_parallel(spec: str, src_lang: str, tgt_lang: str, split: str = "train") -> ParallelData:
    """Load sentence pairs from ``spec`` (one of FORMS); ``split`` only matters for ``hf:``."""
    forms = FORMS.replace("{src}", src_lang).replace("{tgt}", tgt_lang)
    if spec.startswith("hf:"):
        data, where = _load_hf(spec, src_lang, tgt_lang, split), spec
    else:
        path = Path(spec)
        suffix = path.suffix.lower()
        if path.is_file() and suffix == ".tsv":
            data, where = _load_tsv(path), spec
        elif path.is_file() and suffix in (".jsonl", ".json"):
            data, where = _load_json(path, src_lang, tgt_lang), spec
        else:
            src_path, tgt_path = Path(f"{spec}.{src_lang}"), Path(f"{spec}.{tgt_lang}")
            if src_path.is_file() and tgt_path.is_file():
                data = _load_prefix(spec, src_lang, tgt_lang)
                where = f"{src_path} / {tgt_path}"
            elif src_path.is_file() or tgt_path.is_file():
                missing = tgt_path if src_path.is_file() else src_path
                present = tgt_path if missing == src_path else src_path
                raise NmtError(f"{missing} not found (its pair {present} exists).")
            elif path.is_dir():
                raise NmtError(
                    f"{spec} is a directory; for a dataset in Hub layout write hf:{spec}."
                )
            elif path.is_file():
                raise NmtError(
                    f"{spec}: unsupported file type {suffix or '(none)'}. Accepted: {forms}."
                )
            else:
                raise NmtError(f"data file {spec!r} not found. Accepted: {forms}.")
    if len(data) == 0:
        raise NmtError(f"{where} contains no sentence pairs.")
    return data


def load_references(spec: str, tgt_lang: str, expected: int) -> list[list[str]]:
    """Extra test references ``PREFIX.TGT.ref1``, ``.ref2``, ... next to a prefix-form test set."""
    refs = []
    i = 1
    while (path := Path(f"{spec}.{tgt_lang}.ref{i}")).is_file():
        lines = _read_lines(path)[0]
        if len(lines) != expected:
            raise NmtError(f"{path} has {len(lines)} lines but the test set has {expected}.")
        refs.append(lines)
        i += 1
    return refs


def load_splits(data_cfg: DataConfig) -> Splits:
    """Everything a config's data section names, loaded and checked."""
    from nmt.config import TrainSource, train_sources

    languages = _Languages(data_cfg.src_lang, data_cfg.tgt_lang)
    if data_cfg.corpus:
        given = [k for k in ("train", "dev", "test") if getattr(data_cfg, k)]
        if given:
            raise NmtError(
                f"config sets data.corpus and data.{given[0]}: use one or the other "
                "(data.corpus already provides train, dev and test; name a corpus in "
                f"data.{given[0]} to take its split from there)."
            )
        sources = [TrainSource(data_cfg.corpus)]
        specs = {"dev": data_cfg.corpus, "test": data_cfg.corpus}
    else:
        sources = train_sources(data_cfg)
        if not sources:
            raise NmtError(
                "config has no training data: set data.corpus (e.g. bible:en-fr) or data.train "
                f"({FORMS}; or a list of them)."
            )
        specs = {"dev": data_cfg.dev, "test": data_cfg.test}
    parts = []
    for i, source in enumerate(sources):
        spec = languages.spec(source.source, "train", f"data.train[{i}]")
        part = load_parallel(spec, languages.src, languages.tgt, "train")
        parts.append(weighted(part.head(data_cfg.max_train_examples), source.weight, seed=i))
    train = ParallelData([s for p in parts for s in p.src], [t for p in parts for t in p.tgt])
    loaded, paths = {}, {}
    for split, given in specs.items():
        paths[split] = languages.spec(given, split, f"data.{split}") if given else None
        loaded[split] = (load_parallel(paths[split], languages.src, languages.tgt, split)
                         if paths[split] else None)
    test_refs: list[list[str]] = []
    if loaded["test"] is not None and not paths["test"].startswith("hf:"):
        test_refs = load_references(paths["test"], languages.tgt, len(loaded["test"]))
    return Splits(train=train, dev=loaded["dev"], test=loaded["test"], src_lang=languages.src,
                  tgt_lang=languages.tgt, test_refs=test_refs)


def weighted(data: ParallelData, weight: float, seed: int) -> ParallelData:
    """Each pair ``int(weight)`` times, plus a fixed random ``weight % 1`` share of the pairs
    once more: 2.0 doubles a source, 0.5 keeps half of it, the same half on every run."""
    import random

    whole, share = divmod(weight, 1.0)
    extra = sorted(random.Random(seed).sample(range(len(data)), round(share * len(data))))
    order = [i for _ in range(int(whole)) for i in range(len(data))] + extra
    if not order:
        raise NmtError(f"a training source of {len(data)} pairs at weight {weight} keeps none; "
                       "raise its weight.")
    return ParallelData([data.src[i] for i in order], [data.tgt[i] for i in order])


class _Languages:
    """The pair's languages, fixed by the config or by the first corpus name, and checked
    against every other corpus name, so that no source silently swaps or changes languages."""

    def __init__(self, src: str, tgt: str) -> None:
        self.src, self.tgt = src, tgt
        self.given = (src, tgt)

    def spec(self, spec: str, split: str, key: str) -> str:
        """A file spec for ``split`` of ``spec``: a corpus name becomes its prepared split."""
        if not is_corpus_name(spec):
            return spec
        directory, src, tgt = resolve_corpus(spec)
        for side, ours, theirs, given in (("src_lang", src, self.src, self.given[0]),
                                          ("tgt_lang", tgt, self.tgt, self.given[1])):
            if theirs not in ("src", "tgt", ours):
                origin = (f"data.{side} is {theirs!r}" if theirs == given
                          else f"an earlier corpus is {theirs!r}")
                raise NmtError(
                    f"{key} names {spec!r}, whose {side} is {ours!r}, but {origin}: every "
                    f"source must translate the same pair of languages."
                    + (f" Remove data.{side} or set it to {ours!r}." if theirs == given else "")
                )
        self.src, self.tgt = src, tgt
        return str(directory / split)
