"""Reports: one JSON document for machines, one Markdown page for people, in a directory.

The directory holds everything needed to check or redo a number: the hypotheses actually
scored, the scores with their sacrebleu signatures, the test set (suite, files, limit), each
model's config, parameter count, decoding settings and speed, per-sentence scores and any
significance test. It is never silently replaced: an existing non-empty directory needs
``--force``, and then only the files nmt writes are replaced. A suite's several test sets get
one such folder each (named after the set), under a report.json and report.md of them all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nmt.errors import NmtError
from nmt.evaluation.compare import TESTS, Comparison, format_cell
from nmt.evaluation.io import write_lines
from nmt.evaluation.metrics import MetricOptions
from nmt.evaluation.sentences import SentenceScores, write_jsonl, write_tsv
from nmt.evaluation.suites import Suite
from nmt.evaluation.systems import System
from nmt.evaluation.testset import EvalSet

__all__ = ["build", "build_suite", "check_dir", "hyp_file_name", "markdown", "suite_markdown",
           "write", "write_suite"]

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
SENTENCES_TSV = "sentences.tsv"
SENTENCES_JSONL = "sentences.jsonl"
# Every name `write` may create; --force removes exactly these, nothing else.
_OURS = re.compile(r"^(?:report\.(?:json|md)|sentences\.(?:tsv|jsonl)|hyp(?:-\d+)?\.txt)$")


def hyp_file_name(index: int) -> str:
    """``hyp.txt`` for the main system, ``hyp-2.txt``... for the systems compared with it."""
    return "hyp.txt" if index == 0 else f"hyp-{index + 1}.txt"


def check_dir(path: Path, force: bool) -> None:
    """Refuse to write over an earlier report, before any time is spent translating."""
    if path.exists() and not path.is_dir():
        raise NmtError(f"--report {path} is a file; give a directory to write the report in")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise NmtError(
            f"--report {path} already exists and is not empty; choose another directory or "
            "pass --force to replace the report in it"
        )


def build(
    *,
    evalset: EvalSet,
    systems: list[System],
    metrics: list[str],
    options: MetricOptions,
    comparison: Comparison | None,
    sentence_scores: SentenceScores | None,
    worst: dict[str, Any] | None,
    hyp: str | None,
) -> dict[str, Any]:
    """The report as one JSON-ready dict; the first keys are those of `nmt evaluate --json`."""
    import sacrebleu

    from nmt import __version__

    main = systems[0]
    return {
        "metrics": [s.as_dict() for s in main.scores],
        "n_sentences": evalset.n_sentences,
        "hyp": hyp,
        "refs": evalset.ref_names,
        "test_set": evalset.as_dict(),
        "requested_metrics": metrics,
        "metric_options": options.as_dict(),
        "systems": [s.as_dict() for s in systems],
        "comparison": None if comparison is None else comparison.as_dict(),
        "sentence_signatures": None if sentence_scores is None else sentence_scores.signatures,
        "worst": worst,
        # No timestamp: the same inputs give the same report, byte for byte (speed aside).
        "versions": {"nmt": __version__, "sacrebleu": sacrebleu.__version__},
    }


def write(
    path: Path,
    report: dict[str, Any],
    systems: list[System],
    evalset: EvalSet,
    sentence_scores: SentenceScores | None,
    *,
    force: bool,
    width: int = 2,
) -> dict[str, str]:
    """Write the report directory; returns what each file holds, by file name."""
    check_dir(path, force)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NmtError(f"cannot create report directory {path}: {err.strerror or err}") from None
    for old in path.iterdir():
        if _OURS.match(old.name) and old.is_file():
            old.unlink()  # a stale hyp-3.txt must not look like part of this report
    files = {}
    for index, system in enumerate(systems):
        name = hyp_file_name(index)
        write_lines(path / name, system.hypotheses)
        files[name] = f"hypotheses of {system.name}"
        report["systems"][index]["report_hyp_file"] = name
    if sentence_scores is not None:
        write_tsv(path / SENTENCES_TSV, sentence_scores)
        write_jsonl(path / SENTENCES_JSONL, sentence_scores, evalset, systems[0].hypotheses)
        files[SENTENCES_TSV] = f"sentence-level scores of {systems[0].name}"
        files[SENTENCES_JSONL] = "the same with source, references and hypothesis"
    files[REPORT_JSON] = "this report, for machines"
    files[REPORT_MD] = "this report, for people"
    report["files"] = files
    report["report_dir"] = str(path)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    (path / REPORT_JSON).write_text(text + "\n", encoding="utf-8")
    (path / REPORT_MD).write_text(markdown(report, width), encoding="utf-8")
    return files


def build_suite(suite: Suite, set_reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The report of a suite's several test sets: the suite, then each set's whole report
    (the one a single set gives, in the suite's order)."""
    import sacrebleu

    from nmt import __version__

    return {
        "suite": suite.as_dict(),
        "sets": set_reports,
        "versions": {"nmt": __version__, "sacrebleu": sacrebleu.__version__},
    }


def write_suite(path: Path, report: dict[str, Any], width: int = 2) -> dict[str, str]:
    """Write the suite's report.json and report.md beside the sets' folders (which `write`
    filled, one per set, after `check_dir` cleared the directory before any translation)."""
    for old in path.iterdir():
        if _OURS.match(old.name) and old.is_file():
            old.unlink()  # an earlier one-set report's hyp.txt must not look like part of this
    files = {}
    for entry in report["sets"]:
        folder = Path(entry["report_dir"]).name
        files[f"{folder}/"] = f"the report of {entry['test_set']['label']}"
    files[REPORT_JSON] = "this report, for machines: each set's report under `sets`"
    files[REPORT_MD] = "this report, for people"
    report["files"] = files
    report["report_dir"] = str(path)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    (path / REPORT_JSON).write_text(text + "\n", encoding="utf-8")
    (path / REPORT_MD).write_text(suite_markdown(report, width), encoding="utf-8")
    return files


def suite_markdown(report: dict[str, Any], width: int = 2) -> str:
    """One table of every set's scores (each system's, without the significance marks that
    the sets' own pages give), with signature footnotes, and links to the sets' pages."""
    suite = report["suite"]
    sets = report["sets"]
    names = [m["name"] for m in sets[0]["systems"][0]["metrics"]]
    lines = [f"# Evaluation: {suite['name']}", "",
             f"Suite `{suite['name']}` ({suite['description']}): {len(sets)} test sets.", ""]
    head = ["Test set", "Sentences", "System", *(f"{n}[^{i}]" for i, n in enumerate(names, 1))]
    lines += [_md_row(head), _md_row([":--", "--:", ":--"] + ["--:"] * len(names))]
    for entry in sets:
        test_set = entry["test_set"]
        label = _md(test_set["label"])
        if entry.get("report_dir"):
            label = f"[{label}]({Path(entry['report_dir']).name}/{REPORT_MD})"
        n, total = test_set["n_sentences"], test_set["n_total"]
        count = str(n) if n == total else f"{n} of {total}"
        for system in entry["systems"]:
            by_name = {m["name"]: m["score"] for m in system["metrics"]}
            cells = [f"{by_name[n]:.{width}f}" for n in names]
            lines.append(_md_row([label, count, _md(_label(system)), *cells]))
    lines.append("")
    for number, name in enumerate(names, 1):
        found: dict[str, list[str]] = {}
        for entry in sets:
            signature = next(m["signature"] for m in entry["metrics"] if m["name"] == name)
            found.setdefault(signature, []).append(entry["test_set"]["suite"]["set"])
        if len(found) == 1:
            lines.append(f"[^{number}]: {name}: `{next(iter(found))}`")
        else:
            each = "; ".join(f"{', '.join(on)}: `{sig}`" for sig, on in found.items())
            lines.append(f"[^{number}]: {name}: {each}")
    versions = report["versions"]
    lines += ["", f"nmt {versions['nmt']}, sacrebleu {versions['sacrebleu']}."]
    return "\n".join(lines) + "\n"


def markdown(report: dict[str, Any], width: int = 2) -> str:
    """A Markdown page: the score table (fit for a README or paper), then the details."""
    test_set = report["test_set"]
    suite = test_set.get("suite")
    title = (suite.get("label") or suite["name"]) if suite else "evaluation"
    lines = [f"# Evaluation: {title}", "", _test_set_line(test_set), ""]
    lines += _score_table(report, width)
    lines.append("")
    for number, (name, signature) in enumerate(_signatures(report).items(), 1):
        lines.append(f"[^{number}]: {name}: `{signature}`")
    comparison = report.get("comparison")
    if comparison:
        lines += ["", _comparison_note(comparison)]
    for system in report["systems"]:
        lines += ["", *_system_section(system)]
    if report.get("worst"):
        lines += ["", *_worst_section(report["worst"], width)]
    versions = report["versions"]
    lines += ["", f"nmt {versions['nmt']}, sacrebleu {versions['sacrebleu']}."]
    return "\n".join(lines) + "\n"


def _test_set_line(test_set: dict[str, Any]) -> str:
    n, total = test_set["n_sentences"], test_set["n_total"]
    count = f"{n} sentences" if n == total else f"the first {n} of {total} sentences (--limit {n})"
    refs = ", ".join(f"`{Path(r).name}`" for r in test_set["references"])
    suite = test_set.get("suite")
    what = "test set"
    if suite:
        what = f"suite `{suite.get('label') or suite['name']}` ({suite['description']})"
    n_refs = len(test_set["references"])
    return f"Test set: {what}; {count}, {n_refs} reference{'s' * (n_refs != 1)}: {refs}."


def _signatures(report: dict[str, Any]) -> dict[str, str]:
    comparison = report.get("comparison")
    if comparison:
        return dict(comparison["signatures"])
    return {m["name"]: m["signature"] for m in report["metrics"]}


def _score_table(report: dict[str, Any], width: int) -> list[str]:
    from nmt.evaluation.compare import Result

    names = list(_signatures(report))
    headers = [f"{name}[^{i}]" for i, name in enumerate(names, 1)]
    comparison = report.get("comparison")
    if comparison:
        head = ["Rank", "System", *headers]
        rows = []
        for entry in comparison["ranking"]:
            cells = []
            for name in names:
                r = entry["results"][name]
                result = Result(r["score"], r["p_value"], r["mean"], r["ci"])
                cells.append(format_cell(result, width))
            label = _md(entry["system"]) + (" (baseline)" if entry["baseline"] else "")
            rows.append([str(entry["rank"]), label, *cells])
        align = ["--:", ":--"] + ["--:"] * len(names)
    else:
        head = ["System", *headers]
        rows = []
        for system in report["systems"]:
            by_name = {m["name"]: m["score"] for m in system["metrics"]}
            rows.append([_md(_label(system)), *(f"{by_name[n]:.{width}f}" for n in names)])
        align = [":--"] + ["--:"] * len(names)
    return [_md_row(head), _md_row(align), *(_md_row(r) for r in rows)]


def _comparison_note(comparison: dict[str, Any]) -> str:
    unit = "resamples" if comparison["test"] == "bs" else "trials"
    mean = " Scores are: actual (bootstrap mean ± 95% CI)." if comparison["test"] == "bs" else ""
    return (
        f"Significance: sacrebleu's {TESTS[comparison['test']]} test of each system against "
        f"the baseline ({comparison['n_samples']} {unit}, seed {comparison['seed']}); "
        f"`*` marks p <= {comparison['significance_level']}, a difference unlikely to be "
        f"chance. Ranked by {comparison['rank_by']}.{mean}"
    )


def _system_section(system: dict[str, Any]) -> list[str]:
    lines = [f"## {_md(_label(system))}", ""]
    if system["kind"] == "hypotheses":
        lines.append(f"- Hypotheses read from `{system['path']}`.")
        return lines
    model, decoding, speed = system["model"], system["decoding"], system["speed"]
    lines.append(f"- Model `{model['directory']}` ({model['src_lang']}->{model['tgt_lang']}), "
                 f"{model['n_params']:,} parameters.")
    lines.append(
        f"- Decoding: beam {decoding['beam']}, length penalty {decoding['length_penalty']}, "
        f"batch size {decoding['batch_size']}, max length {decoding['max_length_ratio']} x "
        f"source + {decoding['max_length_offset']}."
    )
    rate = speed["sentences_per_second"]
    rate_text = "n/a" if rate is None else f"{rate:.1f} sentences/s"
    lines.append(
        f"- Speed: {rate_text} ({speed['sentences']} sentences in {speed['seconds']:.2f} s on "
        f"{speed['device']}, {speed['torch_threads']} threads)."
    )
    import yaml

    config = yaml.safe_dump(model["config"], sort_keys=False).rstrip()
    lines += ["", "<details><summary>Model config</summary>", "", "```yaml", config, "```",
              "", "</details>"]
    return lines


def _worst_section(worst: dict[str, Any], width: int) -> list[str]:
    entries = worst["sentences"]
    names = list(entries[0]["scores"])
    lines = [f"## The {len(entries)} worst sentences by sentence-level {worst['by']}", ""]
    head = ["Line", *names, "Source", "Reference", "Hypothesis"]
    lines += [_md_row(head), _md_row(["--:"] * (1 + len(names)) + [":--"] * 3)]
    for entry in entries:
        scores = [f"{entry['scores'][n]:.{width}f}" for n in names]
        source = "" if entry["source"] is None else entry["source"]
        lines.append(_md_row([str(entry["line"]), *scores, _md(source),
                              _md(entry["references"][0]), _md(entry["hypothesis"])]))
    return lines


def _label(system: dict[str, Any]) -> str:
    if system["kind"] == "model" and system["model"]:
        return f"{system['model']['name']} ({system['path']})"
    return system["name"]


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipes or line breaks to break the row."""
    text = re.sub(r"[\r\n\x85\u2028\u2029]+", " ", text)
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
