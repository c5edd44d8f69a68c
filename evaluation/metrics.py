"""Corpus and sentence scores computed by sacrebleu's own metric classes.

Using the library's classes, configured exactly as its command line configures them, is what
makes a number reported by nmt equal to the one ``sacrebleu REF -i HYP -m bleu chrf ter``
prints (with the same options), and the signature records every setting, so scores stay
comparable with published ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from nmt.errors import NmtError

__all__ = [
    "METRICS",
    "MetricOptions",
    "Score",
    "Scorer",
    "build_metric",
    "check_lengths",
    "lower_is_better",
    "score",
    "scorers",
    "sentence_scores",
    "unique_metrics",
]

# Metric name -> sacrebleu.metrics class name. Imported lazily: sacrebleu costs a quarter of a
# second, which `nmt --help` should not pay. chrF++ is chrF with word bigrams (word_order=2).
_CLASSES = {"bleu": "BLEU", "chrf": "CHRF", "chrf++": "CHRF", "ter": "TER"}
METRICS: tuple[str, ...] = tuple(_CLASSES)
CHRF_PLUS_PLUS_WORD_ORDER = 2

# Decimals in `Score.text`: sacrebleu's Python API default (its CLI defaults to 1, `-w 1`).
WIDTH = 2


@dataclass(frozen=True)
class MetricOptions:
    """sacrebleu's metric settings, named, grouped and defaulted as its command line has them.

    Mirroring the CLI (``--lowercase`` is BLEU's, ``--chrf-lowercase`` chrF's, TER is
    case-insensitive unless ``--ter-case-sensitive``) means a command copied between the two
    tools computes the same number; the signature shows what was in effect.
    """

    tokenize: str | None = None
    lowercase: bool = False
    smooth_method: str = "exp"
    smooth_value: float | None = None
    chrf_char_order: int = 6
    chrf_word_order: int = 0
    chrf_beta: int = 2
    chrf_whitespace: bool = False
    chrf_lowercase: bool = False
    chrf_eps_smoothing: bool = False
    ter_case_sensitive: bool = False
    ter_asian_support: bool = False
    ter_no_punct: bool = False
    ter_normalized: bool = False

    def kwargs(self, metric: str) -> dict[str, Any]:
        """Constructor arguments of the sacrebleu class behind ``metric`` (a METRICS name)."""
        if metric == "bleu":
            return {
                "tokenize": self.tokenize,
                "lowercase": self.lowercase,
                "smooth_method": self.smooth_method,
                "smooth_value": self.smooth_value,
            }
        if metric in ("chrf", "chrf++"):
            word_order = CHRF_PLUS_PLUS_WORD_ORDER if metric == "chrf++" else self.chrf_word_order
            return {
                "char_order": self.chrf_char_order,
                "word_order": word_order,
                "beta": self.chrf_beta,
                "lowercase": self.chrf_lowercase,
                "whitespace": self.chrf_whitespace,
                "eps_smoothing": self.chrf_eps_smoothing,
            }
        if metric == "ter":
            return {
                "case_sensitive": self.ter_case_sensitive,
                "asian_support": self.ter_asian_support,
                "no_punct": self.ter_no_punct,
                "normalized": self.ter_normalized,
            }
        raise NmtError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Score:
    """One corpus score with everything needed to report it reproducibly.

    ``score`` is unrounded; ``text`` is sacrebleu's formatted line (``BLEU = 12.34 45.6/...``)
    and ``signature`` its settings string (``nrefs:1|case:mixed|...|version:2.6.0``).
    ``metric`` is the nmt name (``chrf++``), ``name`` sacrebleu's (``chrF2++``).
    """

    name: str
    score: float
    signature: str
    text: str
    metric: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric,
            "score": self.score,
            "signature": self.signature,
            "text": self.text,
        }


def check_lengths(
    n_hypotheses: int,
    reference_lengths: Sequence[int],
    *,
    hyp_name: str | None = None,
    ref_names: Sequence[str] | None = None,
) -> None:
    """Refuse streams that are not line-aligned, naming the files when they are known.

    Exposed separately so a caller can check source and references before spending time on
    translation. sacrebleu itself only says "different lengths" and exits.
    """
    if n_hypotheses == 0:
        where = f" ({hyp_name} is empty)" if hyp_name else ""
        raise NmtError(f"there are no hypotheses to score{where}; give at least one line")
    if not reference_lengths:
        raise NmtError("no reference given; give at least one reference stream (--ref FILE)")
    hyp_label = hyp_name if hyp_name else "the hypotheses"
    for index, n_refs in enumerate(reference_lengths):
        if n_refs == n_hypotheses:
            continue
        if ref_names is not None:
            ref_label = f"reference {ref_names[index]}"
        else:
            ref_label = f"reference stream {index + 1}"
        raise NmtError(
            f"{hyp_label} has {_lines(n_hypotheses)} but {ref_label} has {_lines(n_refs)}; "
            "hypotheses and references must be line-aligned (one sentence per line)"
        )


def build_metric(
    name: str,
    options: MetricOptions | None = None,
    *,
    sentence_level: bool = False,
    references: list[list[str]] | None = None,
) -> Any:
    """The configured sacrebleu metric object for ``name``.

    ``sentence_level`` turns on BLEU's effective order, as ``sacrebleu --sentence-level``
    does (without it, one missing 4-gram zeroes a sentence). ``references`` lets sacrebleu
    cache reference statistics when one metric scores several systems.
    """
    key = name.lower()
    if key not in _CLASSES:
        raise NmtError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    kwargs = (options or MetricOptions()).kwargs(key)
    if key == "bleu":
        _check_bleu_options(kwargs)
        if sentence_level:
            kwargs["effective_order"] = True
    import sacrebleu.metrics

    cls = getattr(sacrebleu.metrics, _CLASSES[key])
    try:
        return cls(references=references, **kwargs)
    except (ImportError, OSError, RuntimeError) as err:
        # Optional tokenizers (ja-mecab, ko-mecab, spm, flores) need extra packages or downloads.
        raise NmtError(
            f"cannot set up {name} with tokenizer {kwargs.get('tokenize')!r}: {err}; "
            "install what it needs or choose another --tokenize"
        ) from None


class Scorer:
    """One configured sacrebleu metric for one reference set, for any number of systems.

    sacrebleu's corpus score, its sentence scores and its paired tests all start from the same
    per-sentence statistics, and for TER with several references those take seconds per
    thousand sentences. A Scorer extracts them once per system and serves every use from
    them, through the very methods sacrebleu itself calls (``corpus_score`` and
    ``PairedTest`` call ``_extract_corpus_statistics``), so the numbers cannot differ.
    """

    def __init__(
        self, name: str, references: list[list[str]], options: MetricOptions | None = None
    ) -> None:
        self.key = name.lower()
        self.options = options or MetricOptions()
        self.references = references
        # References cached in the metric, as sacrebleu's command line does.
        self.metric = build_metric(name, self.options, references=references)
        self._stats: dict[tuple[str, ...], Any] = {}
        extract = self.metric._extract_corpus_statistics

        def cached(hypotheses: Sequence[str], refs: Any = None) -> Any:
            if refs is not None:  # explicit references: not the ones cached here
                return extract(hypotheses, refs)
            key = tuple(hypotheses)
            if key not in self._stats:
                self._stats[key] = extract(hypotheses, None)
            return self._stats[key]

        self.metric._extract_corpus_statistics = cached

    def corpus(self, hypotheses: list[str], width: int = WIDTH) -> Score:
        """``metric.corpus_score``: what ``sacrebleu REF -i HYP`` prints."""
        check_lengths(len(hypotheses), [len(stream) for stream in self.references])
        result = self.metric.corpus_score(hypotheses, None)
        return Score(
            name=result.name,
            score=float(result.score),
            signature=self.metric.get_signature().format(),
            text=result.format(width=width),
            metric=self.key,
        )

    def sentences(self, hypotheses: list[str]) -> tuple[str, list[float], str]:
        """(name, one score per sentence, signature): what ``sacrebleu -sl`` prints.

        A sentence's statistics are the same row whether extracted alone or with the corpus;
        only BLEU scores them differently (effective order), with its own metric object.
        """
        check_lengths(len(hypotheses), [len(stream) for stream in self.references])
        stats = self.metric._extract_corpus_statistics(hypotheses, None)
        metric = self.metric
        if self.key == "bleu":
            metric = build_metric(
                self.key, self.options, sentence_level=True, references=self.references
            )
        scores = [metric._aggregate_and_compute([row]) for row in stats]
        return scores[0].name, [float(s.score) for s in scores], metric.get_signature().format()


def scorers(
    references: list[list[str]],
    metrics: Sequence[str],
    options: MetricOptions | None = None,
) -> list[Scorer]:
    """One Scorer per requested metric, all set up before any (slow) scoring starts."""
    return [Scorer(name, references, options) for name in unique_metrics(metrics)]


def score(
    hypotheses: list[str],
    references: list[list[str]],
    metrics: Sequence[str] = ("bleu", "chrf"),
    *,
    options: MetricOptions | None = None,
    hyp_name: str | None = None,
    ref_names: Sequence[str] | None = None,
    width: int = WIDTH,
) -> list[Score]:
    """Score ``hypotheses`` against reference streams, one ``Score`` per metric, in order.

    ``references`` holds whole streams (each aligned with ``hypotheses``), the layout sacrebleu
    uses, so several references per sentence cost nothing extra. ``hyp_name`` and
    ``ref_names`` (file names) only make error messages point at the right file; ``width``
    is the decimals of ``Score.text`` (sacrebleu's ``-w``).
    """
    check_lengths(
        len(hypotheses),
        [len(stream) for stream in references],
        hyp_name=hyp_name,
        ref_names=ref_names,
    )
    return [s.corpus(hypotheses, width) for s in scorers(references, metrics, options)]


def sentence_scores(
    hypotheses: list[str],
    references: list[list[str]],
    metrics: Sequence[str],
    options: MetricOptions | None = None,
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Per-sentence scores by sacrebleu name, and each metric's sentence-level signature,
    as ``sacrebleu --sentence-level`` computes them."""
    check_lengths(len(hypotheses), [len(stream) for stream in references])
    scores: dict[str, list[float]] = {}
    signatures: dict[str, str] = {}
    for scorer in scorers(references, metrics, options):
        name, values, signature = scorer.sentences(hypotheses)
        scores[name], signatures[name] = values, signature
    return scores, signatures


def lower_is_better(name: str) -> bool:
    """Whether a smaller score is better: true for TER (an edit rate), by nmt or sacrebleu name."""
    return name.lower() == "ter"


def unique_metrics(names: Sequence[str]) -> list[str]:
    """Drop repeats (``bleu BLEU``), which would only print the same line twice."""
    if isinstance(names, str):
        names = [names]  # a lone "bleu" would otherwise be read as metrics b, l, e, u
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    if not seen:
        raise NmtError(f"no metric requested; choose from {', '.join(METRICS)}")
    for key, name in seen.items():
        if key not in _CLASSES:
            raise NmtError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    return list(seen.values())


def _check_bleu_options(kwargs: dict[str, Any]) -> None:
    """sacrebleu answers a bad tokenizer with a bare KeyError and a bad smoothing with an
    assert; say which values exist instead."""
    from sacrebleu.metrics import BLEU

    tokenize = kwargs["tokenize"]
    if tokenize is not None and tokenize not in BLEU.TOKENIZERS:
        raise NmtError(
            f"unknown BLEU tokenizer {tokenize!r} (--tokenize); choose from "
            f"{', '.join(BLEU.TOKENIZERS)}"
        )
    method = kwargs["smooth_method"]
    if method not in BLEU.SMOOTH_DEFAULTS:
        raise NmtError(
            f"unknown BLEU smoothing {method!r} (--smooth-method); choose from "
            f"{', '.join(BLEU.SMOOTH_DEFAULTS)}"
        )


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"
