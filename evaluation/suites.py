"""Named test suites: a YAML file saying which source and reference files make a test set.

A suite pins the test set by name (``bible-en-fr``), so two people who run
``nmt evaluate --suite bible-en-fr`` score against the same sentences and the same references,
and a report can say exactly what was used. Suites ship inside the package
(``evaluation/suites/*.yaml``); a path to a YAML file of the same form works too.

A suite names either a ``corpus`` that nmt prepares on first use (``bible:en-fr``) or a local
``directory`` (relative to the YAML file), then the ``source`` file and the ``references``
inside it, primary first. Those names stay inside the directory (no absolute path, no ``..``),
so a suite file from elsewhere cannot make nmt read, and print lines of, any file on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmt.errors import NmtError

__all__ = ["SUITES_DIR", "PreparedSuite", "Suite", "available", "load", "prepare"]

SUITES_DIR = Path(__file__).parent / "suites"
_KEYS = {
    "name", "description", "corpus", "directory", "split", "source", "references",
    "src_lang", "tgt_lang",
}  # fmt: skip


@dataclass(frozen=True)
class Suite:
    """What a suite file says, checked but not yet prepared (nothing read or built)."""

    name: str
    path: Path
    description: str
    corpus: str | None
    directory: Path | None
    split: str
    source: str
    references: tuple[str, ...]
    src_lang: str | None
    tgt_lang: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": str(self.path),
            "description": self.description,
            "corpus": self.corpus,
            "directory": None if self.directory is None else str(self.directory),
            "split": self.split,
            "source": self.source,
            "references": list(self.references),
        }


@dataclass(frozen=True)
class PreparedSuite:
    """A suite whose files exist: where they are and which languages they hold."""

    suite: Suite
    directory: Path
    source: Path
    references: tuple[Path, ...]
    src_lang: str | None
    tgt_lang: str | None
    # The corpus's meta.json (versions, licences, filled lines), when it has one.
    corpus_meta: dict[str, Any] | None


def available() -> dict[str, Path]:
    """The suites shipped with nmt, by name, sorted."""
    return {path.stem: path for path in sorted(SUITES_DIR.glob("*.yaml"))}


def load(name: str) -> Suite:
    """The suite called ``name`` (shipped), or the suite in the YAML file at path ``name``."""
    shipped = available()
    if name in shipped:
        return _parse(shipped[name])
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise NmtError(f"{path}: no such suite file; check the path")
        return _parse(path)
    known = ", ".join(shipped) or "none"
    raise NmtError(
        f"unknown suite {name!r}; known suites: {known} (see `nmt evaluate --list-suites`), "
        "or give the path of a suite .yaml file"
    )


def prepare(suite: Suite) -> PreparedSuite:
    """Make the suite's files exist (preparing its corpus on first use) and find them."""
    from nmt.data import bible
    from nmt.data.corpus import resolve_corpus

    src_lang, tgt_lang = suite.src_lang, suite.tgt_lang
    if suite.corpus is not None:
        directory, src_lang, tgt_lang = resolve_corpus(suite.corpus)
    else:
        assert suite.directory is not None  # _parse requires one of the two
        directory = suite.directory
        if not directory.is_dir():
            raise NmtError(
                f"{suite.path}: directory {directory} does not exist; fix `directory:` "
                "(it is relative to the suite file)"
            )
    source = directory / suite.source
    references = tuple(directory / name for name in suite.references)
    for path in (source, *references):
        if not path.is_file():
            raise NmtError(
                f"{suite.path}: suite {suite.name!r} names {path.name}, which is not in "
                f"{directory}; fix the suite's file list (or delete {directory} so that it is "
                "prepared again)"
            )
    return PreparedSuite(
        suite=suite,
        directory=directory,
        source=source,
        references=references,
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        corpus_meta=bible.read_meta(directory),
    )


def _parse(path: Path) -> Suite:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise NmtError(f"{path}: cannot read the suite file ({err})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise NmtError(f"{path}: not valid YAML{where}; fix the suite file") from None
    if not isinstance(data, dict):
        raise NmtError(f"{path}: a suite file must be a mapping of keys (corpus, source, ...)")
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise NmtError(
            f"{path}: unknown key {unknown[0]!r}; a suite has keys {', '.join(sorted(_KEYS))}"
        )
    corpus, directory = data.get("corpus"), data.get("directory")
    if (corpus is None) == (directory is None):
        raise NmtError(f"{path}: give exactly one of `corpus:` (e.g. bible:en-fr) or `directory:`")
    references = data.get("references")
    if isinstance(references, str):
        references = [references]
    if not references or not all(isinstance(r, str) and r for r in references):
        raise NmtError(f"{path}: `references:` must list at least one file name")
    if not isinstance(data.get("source"), str) or not data["source"]:
        raise NmtError(f"{path}: `source:` must name the source file, e.g. test.en")
    for key, name in [("source", data["source"]), *(("references", r) for r in references)]:
        _check_inside(path, key, name)
    return Suite(
        name=str(data.get("name") or path.stem),
        path=path,
        description=str(data.get("description") or ""),
        corpus=None if corpus is None else str(corpus),
        directory=None if directory is None else (path.parent / str(directory)).resolve(),
        split=str(data.get("split") or "test"),
        source=data["source"],
        references=tuple(references),
        src_lang=_optional_str(data.get("src_lang")),
        tgt_lang=_optional_str(data.get("tgt_lang")),
    )


def _check_inside(path: Path, key: str, name: str) -> None:
    """A suite's files lie inside its directory: a suite file cannot point at any file on disk."""
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts:
        raise NmtError(
            f"{path}: `{key}:` entry {name!r} leaves the suite's directory; name a file inside "
            "it (e.g. test.en or refs/test.fr), with no absolute path and no '..'"
        )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
