"""Named test suites: a YAML file saying which source and reference files make each test set.

A suite pins its test sets by name (``bible-en-fr``), so two people who run
``nmt evaluate --suite bible-en-fr`` score against the same sentences and the same references,
and a report can say exactly what was used. Suites ship inside the package
(``evaluation/suites/*.yaml``); a path to a YAML file of the same form works too.

A test set names either a ``corpus`` that nmt prepares on first use (``bible:en-fr``) or a local
``directory`` (relative to the YAML file), then the ``source`` file and the ``references``
inside it, primary first. Those names stay inside the directory (no absolute path, no ``..``),
so a suite file from elsewhere cannot make nmt read, and print lines of, any file on disk.

A suite holds one test set, written with those keys at the top of the file, or several, listed
under ``sets:`` with a ``name`` each (``bible-en-fr`` has the King James and the World English
Bible as sources for the same verses and references). A set's name labels it in reports
(``bible-en-fr/web``) and names its report folder, so it is a short lower-case word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmt.errors import NmtError

__all__ = ["SUITES_DIR", "PreparedSet", "Suite", "SuiteSet", "available", "load", "prepare"]

SUITES_DIR = Path(__file__).parent / "suites"
_SET_KEYS = {
    "name", "description", "corpus", "directory", "split", "source", "references",
    "src_lang", "tgt_lang",
}  # fmt: skip
_SUITE_KEYS = {"name", "description", "sets"}
# A folder name and a score key prefix (web_test_bleu) on every system: no dots, no slashes.
_SET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


@dataclass(frozen=True)
class SuiteSet:
    """One test set of a suite, checked but not yet prepared (nothing read or built).

    ``name`` is None for the one set of a suite written without ``sets:``.
    """

    name: str | None
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
            "description": self.description,
            "corpus": self.corpus,
            "directory": None if self.directory is None else str(self.directory),
            "split": self.split,
            "source": self.source,
            "references": list(self.references),
        }


@dataclass(frozen=True)
class Suite:
    """What a suite file says: its name and its test sets, in the file's order."""

    name: str
    path: Path
    description: str
    sets: tuple[SuiteSet, ...]

    @property
    def several(self) -> bool:
        """Whether the file lists its sets under ``sets:`` (each one then has a name)."""
        return self.sets[0].name is not None

    def label(self, test_set: SuiteSet) -> str:
        """How reports name a set: ``bible-en-fr/web``, or the suite's name for its only set."""
        return self.name if test_set.name is None else f"{self.name}/{test_set.name}"

    def select(self, names: list[str] | None) -> tuple[SuiteSet, ...]:
        """The sets called ``names`` (``--test-set``), in the order given; all when None."""
        if names is None:
            return self.sets
        if not self.several:
            raise NmtError(
                f"suite {self.name!r} has a single test set, with no name to choose; "
                "drop --test-set"
            )
        by_name = {s.name: s for s in self.sets}
        for name in names:
            if name not in by_name:
                raise NmtError(
                    f"suite {self.name!r} has no test set {name!r}; its sets are "
                    f"{', '.join(by_name)} (--test-set NAME, or leave it out for all)"
                )
        if len(set(names)) != len(names):
            raise NmtError("--test-set names a set twice; name each set once")
        return tuple(by_name[name] for name in names)

    def as_dict(self) -> dict[str, Any]:
        """The suite; a one-set suite also has its set's keys at the top, as in its file."""
        data: dict[str, Any] = {
            "name": self.name,
            "file": str(self.path),
            "description": self.description,
        }
        if not self.several:
            only = self.sets[0].as_dict()
            data.update({k: v for k, v in only.items() if k not in ("name", "description")})
        data["sets"] = [s.as_dict() for s in self.sets]
        return data

    def set_dict(self, test_set: SuiteSet) -> dict[str, Any]:
        """One set as a report records it: the suite's name and file, then the set's keys."""
        return {
            **test_set.as_dict(),
            "name": self.name,
            "file": str(self.path),
            "description": test_set.description or self.description,
            "set": test_set.name,
            "label": self.label(test_set),
        }


@dataclass(frozen=True)
class PreparedSet:
    """A suite's test set whose files exist: where they are and which languages they hold."""

    suite: Suite
    test_set: SuiteSet
    directory: Path
    source: Path
    references: tuple[Path, ...]
    src_lang: str | None
    tgt_lang: str | None
    # The corpus's meta.json (versions, licences, filled lines), when it has one.
    corpus_meta: dict[str, Any] | None

    @property
    def label(self) -> str:
        return self.suite.label(self.test_set)


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


def prepare(suite: Suite, names: list[str] | None = None) -> list[PreparedSet]:
    """Make the files of the sets called ``names`` (all by default) exist, preparing corpora
    on first use, and find them: every set is checked before any is read."""
    return [_prepare_set(suite, test_set) for test_set in suite.select(names)]


def _prepare_set(suite: Suite, test_set: SuiteSet) -> PreparedSet:
    from nmt.data import bible
    from nmt.data.corpus import resolve_corpus

    src_lang, tgt_lang = test_set.src_lang, test_set.tgt_lang
    where = "" if test_set.name is None else f"set {test_set.name!r}: "
    if test_set.corpus is not None:
        directory, src_lang, tgt_lang = resolve_corpus(test_set.corpus)
    else:
        assert test_set.directory is not None  # _parse_set requires one of the two
        directory = test_set.directory
        if not directory.is_dir():
            raise NmtError(
                f"{suite.path}: {where}directory {directory} does not exist; fix `directory:` "
                "(it is relative to the suite file)"
            )
    source = directory / test_set.source
    references = tuple(directory / name for name in test_set.references)
    for path in (source, *references):
        if not path.is_file():
            raise NmtError(
                f"{suite.path}: suite {suite.label(test_set)!r} names {path.name}, which is not "
                f"in {directory}; fix the suite's file list (or delete {directory} so that it "
                "is prepared again)"
            )
    return PreparedSet(
        suite=suite,
        test_set=test_set,
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
    name = str(data.get("name") or path.stem)
    description = str(data.get("description") or "")
    if "sets" not in data:  # the one-set form: the set's keys at the top
        test_set = _parse_set(path, data, None)
        return Suite(name=name, path=path, description=description, sets=(test_set,))

    unknown = sorted(set(map(str, data)) - _SUITE_KEYS)
    if unknown:
        inside = f"; `{unknown[0]}:` belongs inside each set" if unknown[0] in _SET_KEYS else ""
        raise NmtError(
            f"{path}: unknown key {unknown[0]!r} beside `sets:`{inside}; a suite with sets has "
            f"keys {', '.join(sorted(_SUITE_KEYS))}"
        )
    items = data["sets"]
    if not isinstance(items, list) or not items:
        raise NmtError(f"{path}: `sets:` must list at least one test set (name, corpus, ...)")
    found: list[SuiteSet] = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise NmtError(f"{path}: set {number} must be a mapping of keys (name, corpus, ...)")
        set_name = item.get("name")
        if not isinstance(set_name, str) or not _SET_NAME.fullmatch(set_name):
            raise NmtError(
                f"{path}: set {number} needs a `name:` of lower-case letters, digits and '-' "
                f"(at most 32, e.g. web), got {set_name!r}"
            )
        if any(s.name == set_name for s in found):
            raise NmtError(f"{path}: two sets are named {set_name!r}; give each set its own name")
        found.append(_parse_set(path, item, set_name))
    return Suite(name=name, path=path, description=description, sets=tuple(found))


def _parse_set(path: Path, data: dict[Any, Any], set_name: str | None) -> SuiteSet:
    """One test set's keys, checked; ``set_name`` is None for the one-set form of a suite."""
    where = "" if set_name is None else f"set {set_name!r}: "
    unknown = sorted(set(map(str, data)) - _SET_KEYS)
    if unknown:
        keys = ", ".join(sorted(_SET_KEYS))
        if set_name is None:
            raise NmtError(f"{path}: unknown key {unknown[0]!r}; a suite has keys {keys} (or "
                           "name, description and sets: for several test sets)")
        raise NmtError(f"{path}: {where}unknown key {unknown[0]!r}; a set has keys {keys}")
    corpus, directory = data.get("corpus"), data.get("directory")
    if (corpus is None) == (directory is None):
        raise NmtError(
            f"{path}: {where}give exactly one of `corpus:` (e.g. bible:en-fr) or `directory:`"
        )
    references = data.get("references")
    if isinstance(references, str):
        references = [references]
    if not references or not all(isinstance(r, str) and r for r in references):
        raise NmtError(f"{path}: {where}`references:` must list at least one file name")
    if not isinstance(data.get("source"), str) or not data["source"]:
        raise NmtError(f"{path}: {where}`source:` must name the source file, e.g. test.en")
    for key, name in [("source", data["source"]), *(("references", r) for r in references)]:
        _check_inside(path, where, key, name)
    return SuiteSet(
        name=set_name,
        description=str(data.get("description") or "") if set_name is not None else "",
        corpus=None if corpus is None else str(corpus),
        directory=None if directory is None else (path.parent / str(directory)).resolve(),
        split=str(data.get("split") or "test"),
        source=data["source"],
        references=tuple(references),
        src_lang=_optional_str(data.get("src_lang")),
        tgt_lang=_optional_str(data.get("tgt_lang")),
    )


def _check_inside(path: Path, where: str, key: str, name: str) -> None:
    """A suite's files lie inside its directory: a suite file cannot point at any file on disk."""
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts:
        raise NmtError(
            f"{path}: {where}`{key}:` entry {name!r} leaves the suite's directory; name a file "
            "inside it (e.g. test.en or refs/test.fr), with no absolute path and no '..'"
        )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
