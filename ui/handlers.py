"""What each UI event does on the server: validate, translate, shape the outputs.

One `Handlers` object serves every request. It holds only things fixed at start-up
(the model catalog and the output directory); anything that belongs to one user, such
as the attention maps of their last n-best list, travels in a per-session gr.State.
Every user mistake becomes a gr.Error popup with one sentence, never a traceback.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr

from nmt.errors import NmtError
from nmt.ui import limits
from nmt.ui.checks import check_decoding, check_text
from nmt.ui.heatmap import attention_heatmap
from nmt.ui.live import LiveSession, render
from nmt.ui.models import ModelCatalog
from nmt.ui.textfile import output_name, read_lines, write_lines

F = TypeVar("F", bound=Callable[..., Any])

NBEST_HEADERS = ["#", "Translation", "Score"]
HEATMAP_CAPTION = "Attention of hypothesis #{rank} (rows: target pieces, columns: source pieces)"


def user_errors(fn: F) -> F:
    """Show NmtError as a popup with its message; it is the user's to fix, not a crash."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NmtError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

    return wrapper  # type: ignore[return-value]


def _rank_choices(n: int) -> list[tuple[str, int]]:
    return [(f"#{rank}", rank) for rank in range(1, n + 1)]


class Handlers:
    """The functions bound to the app's events; their parameter names are the API's."""

    def __init__(self, catalog: ModelCatalog, out_dir: Path) -> None:
        self.catalog = catalog
        self.out_dir = out_dir

    @user_errors
    def translate(
        self,
        text: str | None,
        beam: float,
        length_penalty: float,
        nbest: float,
        model: str,
    ) -> tuple[str, list[list[Any]], str, Any, list[str]]:
        """Translate one text.

        Returns the best translation, the n-best list (rank, translation, score), the
        attention heatmap of the best hypothesis, and (UI only) the hypothesis picker
        plus every hypothesis' heatmap for the session.
        """
        text = check_text(text)
        settings = check_decoding(beam, length_penalty, nbest)
        translator = self.catalog.get(model)
        hypotheses = translator.translate_detailed(
            text, beam=settings.beam, length_penalty=settings.length_penalty, nbest=settings.nbest
        ) if text.strip() else []
        if not hypotheses:  # blank, or nothing the tokenizer could encode
            return "", [], "", gr.Radio(choices=[], value=None), []
        rows = [[rank, h.text, round(h.score, 4)] for rank, h in enumerate(hypotheses, start=1)]
        heatmaps = [
            attention_heatmap(
                h.src_pieces, h.tgt_pieces, h.attention, caption=HEATMAP_CAPTION.format(rank=rank)
            )
            for rank, h in enumerate(hypotheses, start=1)
        ]
        picker = gr.Radio(choices=_rank_choices(len(hypotheses)), value=1)
        return hypotheses[0].text, rows, heatmaps[0], picker, heatmaps

    @user_errors
    def live(
        self, text: str | None, beam: float, length_penalty: float, model: str,
        session: LiveSession | None = None,
    ) -> tuple[str, LiveSession]:
        """The live translation of the words typed so far, as HTML: committed text plainly,
        the tentative tail in `<span class="tentative">`. A word counts once a space follows."""
        return self._live(text, beam, length_penalty, model, session, final=False)

    @user_errors
    def live_final(
        self, text: str | None, beam: float, length_penalty: float, model: str,
        session: LiveSession | None = None,
    ) -> tuple[str, LiveSession]:
        """The final live translation of the whole text (the page asks once typing pauses):
        the same text as /translate gives with the same settings."""
        return self._live(text, beam, length_penalty, model, session, final=True)

    @user_errors
    def live_toggled(
        self, on: bool, text: str | None, beam: float, length_penalty: float, model: str,
        session: LiveSession | None = None,
    ) -> tuple[Any, LiveSession | None]:
        """Show the live panel, already holding the final translation of the text in the
        box, or hide it."""
        if not on:
            return gr.HTML(value="", visible=False), session
        page, session = self._live(text, beam, length_penalty, model, session, final=True)
        return gr.HTML(value=page, visible=True), session

    def _live(self, text: Any, beam: Any, length_penalty: Any, model: Any,
              session: LiveSession | None, final: bool) -> tuple[str, LiveSession]:
        text = check_text(text)
        settings = check_decoding(beam, length_penalty)
        translator = self.catalog.get(model)
        session = session if isinstance(session, LiveSession) else LiveSession()
        key = (model, settings.beam, settings.length_penalty)
        return render(session.update(translator, key, text, final)), session

    def show_attention(self, rank: int | None, heatmaps: list[str] | None) -> str:
        """The heatmap of hypothesis `rank` from this session's last translation."""
        heatmaps = heatmaps or []
        if not isinstance(rank, int) or not 1 <= rank <= len(heatmaps):
            return ""
        return heatmaps[rank - 1]

    @user_errors
    def translate_file(
        self,
        file: str | None,
        beam: float,
        length_penalty: float,
        model: str,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[str, str]:
        """Translate an uploaded text file line by line; returns the output file and a summary."""
        if not file:
            raise NmtError("Choose a text file to translate first.")
        settings = check_decoding(beam, length_penalty)
        entry = self.catalog.entry(model)
        upload = Path(file)
        lines = read_lines(upload)
        started = time.monotonic()
        progress((0, len(lines)), desc="Translating", unit="lines")
        translated: list[str] = []
        for start in range(0, len(lines), limits.FILE_CHUNK_LINES):
            chunk = lines[start : start + limits.FILE_CHUNK_LINES]
            translated += entry.translator.translate(
                chunk, beam=settings.beam, length_penalty=settings.length_penalty
            )
            progress((len(translated), len(lines)), desc="Translating", unit="lines")
        name = output_name(upload.name, entry.translator.tgt_lang)
        path = write_lines(self.out_dir, name, translated)
        seconds = time.monotonic() - started
        summary = (
            f"Translated {len(lines):,} line{'s' * (len(lines) != 1)} of {upload.name} "
            f"with {entry.translator.name} ({entry.pair}) in {seconds:.1f} s."
        )
        return str(path), summary

    @user_errors
    def select_model(self, model: str) -> tuple[Any, ...]:
        """Switch the page to another model: its card, language labels and search defaults.

        Returns the model card, then updates for the source and translation boxes, the
        beam and length-penalty sliders, cleared result widgets and the model's examples.
        """
        entry = self.catalog.entry(model)
        t = entry.translator
        beam, penalty = entry.search_defaults
        return (
            entry.describe(),
            gr.Textbox(label=f"Source ({t.src_lang})"),
            gr.Textbox(value="", label=f"Translation ({t.tgt_lang})"),
            beam,
            penalty,
            [],
            "",
            gr.Radio(choices=[], value=None),
            [],
            gr.Dataset(samples=[[e] for e in entry.examples] or [[""]],
                       visible=bool(entry.examples)),
        )
