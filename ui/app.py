"""The Gradio web app: one translator behind a text box, a beam slider and an attention view.

Gradio is imported inside the functions so that importing `nmt.ui` (for example to
list CLI subcommands) stays cheap.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from nmt.errors import NmtError
from nmt.ui.heatmap import attention_heatmap

if TYPE_CHECKING:
    import gradio as gr

    from nmt.translator import Translator

# Long inputs tie up a worker for seconds and the model was trained on single
# sentences anyway; the limit is checked on the server because the client's own
# limit is trivially bypassed through the API.
MAX_CHARS = 2000
MIN_BEAM = 1
MAX_BEAM = 10
DEFAULT_BEAM = 5
# The translator is thread-safe, but the machine's cores are the real limit: a couple
# of concurrent decodes keep them busy, more only make every request slower.
CONCURRENCY_LIMIT = 2
# Beyond this many waiting requests new ones are refused instead of waiting for minutes.
QUEUE_SIZE = 32

EXAMPLES = [
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "The Lord is my shepherd; I shall not want.",
    "Blessed are the meek: for they shall inherit the earth.",
    "And the word was made flesh, and dwelt among us.",
]


def make_translate_fn(translator: Translator) -> Callable[[str | None, float], tuple[str, str]]:
    """Bind `translator` into the function the UI and the `/translate` API endpoint call.

    Kept separate from the layout so the request handling can be reasoned about (and
    reused) without building any components.
    """
    import gradio as gr

    def translate(text: str | None, beam: float = DEFAULT_BEAM) -> tuple[str, str]:
        """Translate one sentence; return the translation and its attention heatmap as HTML."""
        text = text or ""
        if len(text) > MAX_CHARS:
            raise gr.Error(
                f"The text is {len(text):,} characters long; the limit is {MAX_CHARS:,}. "
                "Please shorten it or split it into several requests.",
                title="Text too long",
                print_exception=False,
            )
        if not text.strip():
            return "", ""
        try:
            beam_size = int(beam)
        except (TypeError, ValueError):
            beam_size = -1
        if not MIN_BEAM <= beam_size <= MAX_BEAM:
            raise gr.Error(
                f"Beam size must be a whole number from {MIN_BEAM} to {MAX_BEAM}.",
                title="Invalid beam size",
                print_exception=False,
            )
        try:
            hypotheses = translator.translate_detailed(text, beam=beam_size, nbest=1)
        except NmtError as exc:
            # A user-facing problem the translator could name: show it, no traceback.
            raise gr.Error(str(exc), print_exception=False) from exc
        if not hypotheses:  # nothing the tokenizer could encode
            return "", ""
        best = hypotheses[0]
        heatmap = attention_heatmap(
            best.src_pieces,
            best.tgt_pieces,
            best.attention,
            caption="Attention (rows: target pieces, columns: source pieces)",
        )
        return best.text, heatmap

    return translate


def _header(translator: Translator) -> str:
    """Markdown header; user-controlled model metadata is escaped since Markdown renders HTML."""
    name = html.escape(translator.name)
    pair = f"{html.escape(translator.src_lang)} \u2192 {html.escape(translator.tgt_lang)}"
    return (
        f"# nmt: {name}\n"
        f"**{pair}** \u00b7 {translator.n_params:,} parameters \u00b7 "
        f"recurrent encoder-decoder with attention"
    )


def build_app(translator: Translator) -> gr.Blocks:
    """Lay out the app around one shared translator (thread-safe, so no per-session copies).

    The queue is bounded so that a burst of requests is refused quickly rather than
    piling up behind CPU-bound decodes.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    translate = make_translate_fn(translator)
    title = f"nmt \u00b7 {translator.src_lang}\u2192{translator.tgt_lang}"

    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        gr.Markdown(_header(translator))
        with gr.Row():
            with gr.Column():
                source = gr.Textbox(
                    label=f"Source ({translator.src_lang})",
                    placeholder="Type a sentence and press Enter…",
                    # One line: Gradio submits on Enter only for single-line boxes
                    # (multi-line ones need Shift+Enter). It still grows as text wraps.
                    lines=1,
                    max_lines=8,
                    max_length=MAX_CHARS,
                    autofocus=True,
                )
                beam = gr.Slider(
                    minimum=MIN_BEAM,
                    maximum=MAX_BEAM,
                    value=DEFAULT_BEAM,
                    step=1,
                    precision=0,
                    label="Beam size",
                    info="1 is greedy decoding; wider beams are slower, usually a little better.",
                )
                button = gr.Button("Translate", variant="primary")
            with gr.Column():
                output = gr.Textbox(
                    label=f"Translation ({translator.tgt_lang})",
                    lines=3,
                    interactive=False,
                    buttons=["copy"],
                )
        heatmap = gr.HTML(label="Attention", js_on_load=None)
        gr.Examples(examples=EXAMPLES, inputs=source, cache_examples=False)

        gr.on(
            triggers=[button.click, source.submit],
            fn=translate,
            inputs=[source, beam],
            outputs=[output, heatmap],
            api_name="translate",
            api_description=(
                "Translate one sentence; returns the translation and an HTML attention heatmap."
            ),
        )

    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    return demo


def launch(
    translator: Translator,
    host: str = "127.0.0.1",
    port: int = 7860,
    block: bool = True,
) -> gr.Blocks:
    """Serve the app locally; never opens a share tunnel, never renders on a Node server.

    With `block=False` the server runs in a background thread and the caller owns it
    (stop it with `demo.close()`); this is what tests and embedding code need.
    """
    demo = build_app(translator)
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        ssr_mode=False,
        prevent_thread_lock=not block,
        inbrowser=False,
        quiet=not block,
        footer_links=["api", "settings"],
        run_history=False,
        enable_monitoring=False,
        mcp_server=False,
    )
    return demo
