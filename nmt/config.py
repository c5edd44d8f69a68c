"""The typed, validated configuration: YAML or JSON in, a resolved config out.

Validation happens once, here, at the edge. Every mistake names its key and says how to fix
it (unknown keys get the closest valid name); the rest of nmt takes plain, checked values.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from nmt.errors import NmtError


@dataclass
class DataConfig:
    """Where the parallel text comes from.

    ``corpus`` names a prepared corpus (``bible:en-fr``) that nmt builds on first use; otherwise
    ``train``/``dev``/``test`` are paths (``.tsv``, ``.jsonl``, a ``prefix`` with ``prefix.SRC``
    and ``prefix.TGT`` files), ``hf:NAME`` for a Hugging Face Hub dataset, or a corpus name
    (its split of that name). ``train`` may list several sources, each a spec or a mapping
    ``{source: SPEC, weight: W}`` (see :func:`train_sources`); dev and test stay single.
    """

    corpus: str | None = None
    train: str | list | None = None
    dev: str | None = None
    test: str | None = None
    src_lang: str = "src"
    tgt_lang: str = "tgt"
    max_length: int = 100
    max_train_examples: int | None = None
    dev_max_examples: int = 500


@dataclass
class TokenizerConfig:
    type: str = "bpe"
    vocab_size: int = 8000
    joint: bool = True
    min_frequency: int = 2


@dataclass
class ModelConfig:
    cell: str = "lstm"
    encoder: str = "rnn"
    decoder: str = "rnn"
    attention: str = "general"
    embedding_size: int = 256
    encoder_hidden_size: int = 256
    encoder_layers: int = 1
    bidirectional: bool = True
    decoder_hidden_size: int = 512
    decoder_layers: int = 1
    input_feeding: bool = True
    decoder_init: str = "bridge"  # bridge | last | zero
    dropout: float = 0.2
    embedding_dropout: float | None = None  # None: same as dropout
    tie_output: bool = False  # target embeddings double as the output layer
    share_embeddings: bool = False  # one embedding table for source and target (joint vocab)
    # None: uniform in +-0.1 for every component except those that own their init (owns_init);
    # a number: uniform in +-init_range for every parameter; 0: each component's own init.
    init_range: float | None = None
    # Each component's own options (its Options dataclass), e.g. attention_options: {window: 5}.
    cell_options: dict = field(default_factory=dict)
    encoder_options: dict = field(default_factory=dict)
    decoder_options: dict = field(default_factory=dict)
    attention_options: dict = field(default_factory=dict)


@dataclass
class TrainingConfig:
    batch_tokens: int = 2048
    accumulate: int = 1  # batches per optimizer update
    optimizer: str = "adam"  # adam | adamw
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant | warmup | inverse_sqrt | plateau
    warmup_steps: int = 0
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    min_learning_rate: float = 1e-6
    clip_norm: float = 5.0
    label_smoothing: float = 0.0
    max_steps: int | None = None
    max_epochs: int | None = None
    eval_every: int = 500
    save_every: int | None = None  # steps between resumable checkpoints (default: eval_every)
    log_every: int = 50
    early_stopping_metric: str = "bleu"  # bleu | chrf | loss
    patience: int | None = None  # evaluations without improvement before stopping
    keep_best: int = 1  # best checkpoints kept under best/ (the run dir holds the very best)
    seed: int = 1
    threads: int | None = None
    dev_beam: int = 1
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 only on CUDA)
    tensorboard: bool = False
    # Wait-k (Ma et al. 2019): target step t reads only the first t + wait_k source pieces.
    wait_k: int = 0  # 0: off (offline training, every step reads the whole source)
    wait_k_multi: bool = False  # multi-k (Elbayad et al. 2020): k uniform in 1..wait_k per batch
    # Re-translation (Arivazhagan et al. 2020): this fraction of the pairs is added again as a
    # source prefix with the proportional target prefix (nmt.training.prefixes).
    prefix_pairs: float = 0.0
    # Fine-tuning: a model directory whose weights (and tokenizers) start the run.
    init_from: str | None = None
    # Per-batch output vocabulary (Jean et al. 2015): 0 trains against the whole softmax; N > 0
    # against each batch's own target pieces plus the N most frequent ones.
    output_candidates: int = 0
    # ...plus this many pieces sampled uniformly from the rest of the vocabulary per batch, with
    # the sampled-softmax correction, so that pieces outside the batch are pushed down too.
    output_negatives: int = 0


@dataclass(frozen=True)
class DecodingOptions:
    """How to decode: the ``decoding:`` section of a config, and the one value every decoding
    path takes (the CLI, the UI, the evaluation harness and the trainer's dev evaluation).

    It is frozen: a :class:`~nmt.translator.Translator` resolves it once at load time (the
    model's config plus overrides), and a per-call change makes a new value with
    :meth:`updated`, so one translator serving many callers can never have its settings
    changed underneath them.
    """

    beam: int = 5
    length_penalty: float = 1.0
    max_length_ratio: float = 2.0
    max_length_offset: int = 10
    min_length: int = 1
    max_source_length: int = 400  # longer inputs are truncated, with a warning
    no_repeat_ngram: int = 0  # n > 0: no n-gram twice in one translation
    batch_size: int = 64
    quantize: str = "none"  # none | int8 (dynamic quantization of linear layers)
    shortlist: bool = True  # score only a batch's likely target pieces, when the model has a list
    # Wu et al. (2016) coverage penalty beta: favours translations that attend to every source
    # piece; 0 is off.
    coverage_penalty: float = 0.0

    def updated(self, **changes: Any) -> DecodingOptions:
        """A copy with ``changes`` applied, checked like a config file (unknown keys get the
        closest name, values their type and range); a change of ``None`` keeps the setting."""
        given = {k: v for k, v in changes.items() if v is not None}
        if not given:
            return self
        return _build(DecodingOptions, {**asdict(self), **given}, "decoding.")


# The name the section had before it became the value that decoding takes.
DecodingConfig = DecodingOptions


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    decoding: DecodingOptions = field(default_factory=DecodingOptions)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


CHOICES: dict[str, tuple[str, ...]] = {
    "model.decoder_init": ("bridge", "last", "zero"),
    "training.optimizer": ("adam", "adamw"),
    "training.schedule": ("constant", "warmup", "inverse_sqrt", "plateau"),
    "training.early_stopping_metric": ("bleu", "chrf", "loss"),
    "training.precision": ("fp32", "bf16", "fp16"),
    "decoding.quantize": ("none", "int8"),
}

RANGES: dict[str, tuple[float, float]] = {
    "model.embedding_dropout": (0.0, 0.99),
    "training.accumulate": (1, 10_000),
    "training.weight_decay": (0.0, 10.0),
    "training.warmup_steps": (0, 10**9),
    "training.plateau_factor": (0.01, 1.0),
    "training.plateau_patience": (0, 10**6),
    "training.min_learning_rate": (0.0, 10.0),
    "training.save_every": (1, 10**9),
    "training.patience": (1, 10**6),
    "training.keep_best": (1, 1000),
    "data.max_length": (1, 10_000),
    "data.dev_max_examples": (0, 10_000_000),
    "tokenizer.vocab_size": (8, 1_000_000),
    "tokenizer.min_frequency": (0, 1_000_000),
    "model.embedding_size": (1, 65_536),
    "model.encoder_hidden_size": (1, 65_536),
    "model.encoder_layers": (1, 64),
    "model.decoder_hidden_size": (1, 65_536),
    "model.decoder_layers": (1, 64),
    "model.dropout": (0.0, 0.99),
    "model.init_range": (0.0, 10.0),
    "training.batch_tokens": (1, 10_000_000),
    "training.learning_rate": (1e-9, 10.0),
    "training.clip_norm": (0.0, 1e6),
    "training.label_smoothing": (0.0, 0.99),
    "training.eval_every": (1, 10**9),
    "training.log_every": (1, 10**9),
    "training.dev_beam": (1, 100),
    "training.wait_k": (0, 10_000),
    "training.prefix_pairs": (0.0, 1.0),
    "training.output_candidates": (0, 10_000_000),
    "training.output_negatives": (0, 10_000_000),
    "data.train[].weight": (1e-6, 1000.0),
    "decoding.beam": (1, 100),
    "decoding.length_penalty": (0.0, 10.0),
    "decoding.max_length_ratio": (0.0, 100.0),  # 0: a fixed cap of max_length_offset pieces
    "decoding.max_length_offset": (1, 100_000),
    "decoding.batch_size": (1, 100_000),
    "decoding.min_length": (0, 10_000),
    "decoding.max_source_length": (1, 100_000),
    "decoding.no_repeat_ngram": (0, 100),
    "decoding.coverage_penalty": (0.0, 100.0),
}


def _build(cls: type, values: Any, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise NmtError(f"config section {prefix or 'top level'!r} must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.5)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else ""
            raise NmtError(
                f"unknown config key '{path}'.{hint} Valid keys here: {', '.join(known)}."
            )
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value or {}, f"{path}.")
        else:
            kwargs[key] = _coerce(path, value, hint)
    obj = cls(**kwargs)
    for key in known:
        path = f"{prefix}{key}"
        rule = re.sub(r"\[\d+\]", "[]", path)  # list items share their rules
        if rule in CHOICES and getattr(obj, key) not in CHOICES[rule]:
            close = difflib.get_close_matches(str(getattr(obj, key)), CHOICES[rule], n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise NmtError(
                f"config key '{path}' is {getattr(obj, key)!r}.{hint} "
                f"Choose one of: {', '.join(CHOICES[rule])}."
            )
        if rule in RANGES and getattr(obj, key) is not None:
            lo, hi = RANGES[rule]
            if not lo <= getattr(obj, key) <= hi:
                raise NmtError(
                    f"config key '{path}' is {getattr(obj, key)!r}, outside its range [{lo}, {hi}]."
                )
    return obj


def _coerce(path: str, value: Any, hint: Any) -> Any:
    """Check ``value`` against the field type; accept ints for floats, nothing looser."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise NmtError(f"config key '{path}' must not be empty.")
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if option is dict and isinstance(value, dict):  # checked later, by its owner
            return dict(value)
        if option is list and isinstance(value, list):  # likewise
            return list(value)
    wanted = " or ".join(o.__name__ for o in options if o is not type(None))
    raise NmtError(f"config key '{path}' must be {wanted}, got {value!r} ({type(value).__name__}).")


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split ``section.key=value`` (the ``--set`` syntax); the value is read as YAML."""
    if "=" not in item:
        raise NmtError(f"--set {item!r}: expected section.key=value, e.g. --set model.cell=gru")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def from_dict(values: dict[str, Any], overrides: list[str] = ()) -> Config:
    values = json.loads(json.dumps(values or {}))  # a deep copy of plain data
    for item in overrides:
        keys, value = parse_override(item)
        node = values
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise NmtError(f"--set {item!r}: '{k}' is not a section")
        node[keys[-1]] = value
    cfg = _build(Config, values, "")
    train_sources(cfg.data)
    check_wait_k(cfg)
    return cfg


@dataclass(frozen=True)
class TrainSource:
    """One training source: a data spec and how often each of its pairs is seen per epoch
    (2.0: twice; 0.5: a fixed random half), which is how a small in-domain corpus is weighted
    up against a large general one."""

    source: str
    weight: float = 1.0


def train_sources(data: DataConfig) -> list[TrainSource]:
    """``data.train`` as a list of sources, checked: a single spec is a list of one."""
    given = data.train
    if given is None:
        return []
    items = [given] if isinstance(given, str) else given
    if not items:
        raise NmtError("config key 'data.train' is an empty list; name at least one source.")
    sources = []
    for i, item in enumerate(items):
        where = f"data.train[{i}]"
        if isinstance(item, str):
            item = {"source": item}
        if not isinstance(item, dict):
            raise NmtError(f"config key '{where}' must be a data spec or a mapping "
                           f"{{source: SPEC, weight: W}}, got {item!r}.")
        if "source" not in item:
            raise NmtError(f"config key '{where}' has no 'source'; write {{source: SPEC}} "
                           f"({', '.join(map(str, item))} given).")
        sources.append(_build(TrainSource, item, f"{where}."))
        if not sources[-1].source.strip():
            raise NmtError(f"config key '{where}.source' is empty; give a data spec.")
    return sources


def check_wait_k(cfg: Config) -> None:
    """The settings a wait-k model needs, checked across sections.

    A stream has read only a prefix of the sentence when it writes, so the model may depend on
    nothing beyond that prefix: the encoder must be unidirectional (a backward direction starts
    from the sentence's end), and the decoder's first state must not come from the encoder's
    final state (``decoder_init`` bridge/last read the whole-sentence summary). ``zero`` is the
    one choice a stream has before it writes its first word; nmt requires it rather than
    feeding the bridge a prefix's summary, which would tie training to one k.
    """
    t, m = cfg.training, cfg.model
    if not t.wait_k:  # wait_k_multi is then ignored: `--set training.wait_k=0` trains offline
        return
    if m.bidirectional:
        raise NmtError(f"training.wait_k is {t.wait_k}, which needs a unidirectional encoder: "
                       "set model.bidirectional: false (a backward direction reads the end of "
                       "the sentence, which a stream has not seen).")
    if m.decoder_init != "zero":
        raise NmtError(f"training.wait_k is {t.wait_k}, which needs model.decoder_init: zero "
                       f"(it is {m.decoder_init!r}, which starts the decoder from the encoder's "
                       "final state, and a stream has no final state when it writes).")


def load(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read a YAML/JSON config file, apply ``--set`` overrides, validate everything."""
    path = Path(path)
    if not path.is_file():
        raise NmtError(f"config file {str(path)!r} not found. Shipped configs are in configs/.")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise NmtError(f"config file {str(path)!r} is not valid YAML/JSON: {exc}") from exc
    return from_dict(values or {}, overrides)
