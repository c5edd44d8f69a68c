"""Load a model directory and translate text: the public Python API.

    from nmt import Translator
    Translator.load("runs/en-fr").translate(["In the beginning was the Word."])

A Translator keeps no per-request state, so one instance can serve many threads at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from nmt import checkpoint
from nmt.config import Config
from nmt.data.batching import pad_sequences
from nmt.errors import NmtError
from nmt.model import Seq2Seq, count_parameters
from nmt.search import beam_search
from nmt.shortlist import Shortlist

BUNDLED_MODEL = Path(__file__).parent / "models" / "bible-en-fr"


class TruncatedInputWarning(UserWarning):
    """An input longer than the model's source cap was cut; the CLI prints it once per line."""


@dataclass
class Hypothesis:
    """One translation with its score and attention (rows: target pieces, columns: source pieces)."""

    text: str
    score: float
    src_pieces: list[str]
    tgt_pieces: list[str]
    attention: list[list[float]]


class Translator:
    def __init__(
        self, model: Seq2Seq, src_tokenizer, tgt_tokenizer, config: Config,
        model_dir: Path | None = None, meta: dict | None = None, shortlist: Shortlist | None = None,
    ) -> None:
        self.model = model.eval()
        self.src_tokenizer = src_tokenizer
        self.tgt_tokenizer = tgt_tokenizer
        self.config = config
        self.model_dir = model_dir
        self.meta = meta or {}
        self.shortlist = shortlist
        self.src_lang = self.meta.get("src_lang", config.data.src_lang)
        self.tgt_lang = self.meta.get("tgt_lang", config.data.tgt_lang)
        self.name = self.meta.get("name") or (model_dir.name if model_dir else "model")
        self.n_params = self.meta.get("n_params") or count_parameters(model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @classmethod
    def load(cls, model_dir: str | Path | None = None, device: str = "cpu",
             quantize: str | None = None) -> Translator:
        """Load a model directory; ``None`` loads the small English->French model shipped with nmt.

        ``quantize="int8"`` (CPU only) trades a little accuracy for faster decoding.
        """
        if model_dir is None:
            if not (BUNDLED_MODEL / checkpoint.WEIGHTS).is_file():
                raise NmtError(f"the bundled model is missing from {BUNDLED_MODEL}; reinstall nmt.")
            model_dir = BUNDLED_MODEL
        loaded = checkpoint.load(model_dir, device)
        model = loaded.model
        quantize = quantize or loaded.config.decoding.quantize
        if quantize == "int8":
            if torch.device(device).type != "cpu":
                raise NmtError("int8 quantization runs on the CPU only; drop --quantize or use --device cpu.")
            from nmt.quantize import quantize_int8

            model = quantize_int8(model)
        elif quantize not in (None, "none"):
            raise NmtError(f"unknown quantization {quantize!r}; use 'int8' or 'none'.")
        return cls(model, loaded.src_tokenizer, loaded.tgt_tokenizer, loaded.config,
                   Path(model_dir), loaded.meta, loaded.shortlist)

    def _truncate(self, ids: list[int]) -> list[int]:
        """Cap a source at ``decoding.max_source_length`` pieces, with a warning that says so:
        the model never saw longer sentences, and search time grows with the length."""
        cap = self.config.decoding.max_source_length
        if len(ids) > cap:
            warnings.warn(f"an input of {len(ids)} pieces was truncated to {cap} "
                          "(decoding.max_source_length); split long texts into sentences.",
                          TruncatedInputWarning, stacklevel=3)
            return ids[:cap]
        return ids

    def _max_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        d = self.config.decoding
        return (lengths.float() * d.max_length_ratio + d.max_length_offset).long()

    def _batch(self, ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = torch.tensor([len(x) for x in ids])
        return pad_sequences(ids, self.src_tokenizer.pad_id).to(self.device), lengths

    def _search(self, ids: list[list[int]], beam: int, length_penalty: float, **kw):
        src, lengths = self._batch(ids)
        d = self.config.decoding
        if self.shortlist is not None and d.shortlist:
            kw["vocab"] = self.shortlist.candidates(ids, [self.tgt_tokenizer.eos_id])
        return beam_search(
            self.model, src, lengths, beam=beam, bos=self.tgt_tokenizer.bos_id,
            eos=self.tgt_tokenizer.eos_id, max_lengths=self._max_lengths(lengths),
            alpha=length_penalty, min_length=d.min_length, no_repeat_ngram=d.no_repeat_ngram, **kw,
        )

    def translate(
        self,
        texts: list[str],
        beam: int | None = None,
        length_penalty: float | None = None,
        batch_size: int | None = None,
        progress: bool = False,
    ) -> list[str]:
        """One output string per input string, in order; empty input gives empty output."""
        d = self.config.decoding
        beam = beam or d.beam
        length_penalty = d.length_penalty if length_penalty is None else length_penalty
        batch_size = batch_size or d.batch_size
        if isinstance(texts, str):
            raise NmtError("translate() takes a list of strings; wrap a single sentence in [ ].")
        ids = [self._truncate(x) for x in self.src_tokenizer.encode_batch([t.strip() for t in texts])]
        outputs = [""] * len(texts)
        todo = sorted((i for i, x in enumerate(ids) if x), key=lambda i: len(ids[i]))
        batches = [todo[s : s + batch_size] for s in range(0, len(todo), batch_size)]
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), unit="sent", desc="translating", dynamic_ncols=True)
            bar.update(len(texts) - len(todo))
        for chunk in batches:
            results = self._search([ids[i] for i in chunk], beam, length_penalty)
            for i, hyps in zip(chunk, results):
                outputs[i] = self.tgt_tokenizer.decode(hyps[0].tokens) if hyps else ""
            if bar:
                bar.update(len(chunk))
        if bar:
            bar.close()
        return outputs

    def translate_detailed(
        self, text: str, beam: int | None = None, length_penalty: float | None = None, nbest: int = 1
    ) -> list[Hypothesis]:
        """The ``nbest`` best translations of one text, with scores and attention matrices."""
        d = self.config.decoding
        beam = max(beam or d.beam, nbest)
        length_penalty = d.length_penalty if length_penalty is None else length_penalty
        ids = self._truncate(self.src_tokenizer.encode(text.strip()))
        if not ids:
            return []
        src_pieces = self.src_tokenizer.pieces(ids)
        results = self._search([ids], beam, length_penalty, nbest=nbest, keep_attention=True)[0]
        hyps = []
        for r in results:
            tgt_pieces = self.tgt_tokenizer.pieces(r.tokens) + ["</s>"]
            hyps.append(Hypothesis(
                text=self.tgt_tokenizer.decode(r.tokens),
                score=r.score,
                src_pieces=src_pieces,
                tgt_pieces=tgt_pieces,
                attention=r.attention[:, : len(ids)].tolist(),
            ))
        return hyps
