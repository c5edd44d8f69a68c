"""The Gradio web app: layout, event wiring and a local-only launch.

What happens on the server for each event lives in `handlers`; the numbers the widgets
show come from `limits`, the same ones the server enforces. Gradio is imported inside
functions so that importing `nmt.ui` (for example to list CLI subcommands) stays cheap.

API endpoints (named for gradio_client):
    /translate       text, beam, length_penalty, nbest, model
                     -> translation, n-best table, attention heatmap (HTML), picked rank
    /show_attention  rank -> heatmap of that hypothesis from the session's last /translate
    /translate_file  file, beam, length_penalty, model -> translated file, summary
    /select_model    model -> model card and the page updated for that model
    /live            text, beam, length_penalty, model -> live translation (HTML) of the
                     complete words so far, the tentative tail in <span class="tentative">
    /live_final      text, beam, length_penalty, model -> the final translation (HTML) of
                     the whole text, equal to /translate's; both keep a per-session stream
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nmt.ui import limits
from nmt.ui.models import ModelCatalog
from nmt.ui.textfile import make_output_dir

if TYPE_CHECKING:
    import gradio as gr

    from nmt.translator import Translator

# Session state (the n-best heatmaps) is small but per user; bound how much is kept.
STATE_TTL_S = 3600
STATE_SESSIONS = 1000

# Runs in the browser on every keystroke: counting characters needs no server round trip.
_COUNTER_JS = f"""(text) => {{
    const n = (text || "").length;
    const left = {limits.MAX_CHARS} - n;
    const note = left <= 0 ? " \u2014 limit reached"
        : (left < 100 ? " \u2014 " + left + " left" : "");
    return n.toLocaleString("en") + " / {limits.MAX_CHARS:,} characters" + note;
}}"""

# Live mode: how long typing must pause before the last word is read and the translation
# finished. The page, not the server, keeps this clock, so a pause costs no request.
LIVE_PAUSE_MS = 500

# Runs in the browser on every change of the source box. It asks the server for a live update
# (a click on the hidden #live-tick) only when the complete words changed, since a word counts
# once whitespace follows it; at a sentence end, or after a pause, it asks for the final
# translation (#live-pause). With live mode off it does nothing.
_LIVE_JS = f"""(text, live) => {{
    const w = window;
    clearTimeout(w.nmtLivePause);
    if (!live) {{ w.nmtLiveWords = undefined; return []; }}
    text = text || "";
    const click = (id) => document.getElementById(id)?.click();
    const words = text.replace(/\\S*$/, "");
    if (/[.!?\u2026]["'\u2019\u201d\u00bb)\\]]*\\s*$/.test(text)) {{
        w.nmtLiveWords = undefined;
        click("live-pause");
        return [];
    }}
    if (words !== w.nmtLiveWords) {{ w.nmtLiveWords = words; click("live-tick"); }}
    w.nmtLivePause = setTimeout(() => click("live-pause"), {LIVE_PAUSE_MS});
    return [];
}}"""

_CSS = """
#char-counter { text-align: right; font-size: 0.85em; opacity: 0.75; margin-top: -0.5em; }
#heatmap { min-height: 2em; }
#heatmap table, #heatmap th, #heatmap td { border: none; }
#live .live-text { font-size: var(--text-lg); line-height: 1.5; min-height: 1.5em; }
#live .tentative { opacity: 0.55; font-style: italic; text-decoration: underline dotted; }
"""


def _counter_text(n: int = 0) -> str:
    return f"{n:,} / {limits.MAX_CHARS:,} characters"


def _as_catalog(models: ModelCatalog | Translator | Sequence[Translator]) -> ModelCatalog:
    """Accept one translator or several for convenience when embedding the app."""
    if isinstance(models, ModelCatalog):
        return models
    if isinstance(models, Sequence):
        return ModelCatalog(models)
    return ModelCatalog([models])


def _configure_environment() -> None:
    """No telemetry or version checks, whatever the caller's environment says."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    # Gradio's queue keeps local timing statistics (for its monitoring page, which is off)
    # and rebuilds them with pandas after every event; on a busy CPU box that is wasted
    # work per request, so rebuild rarely and keep fewer records.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")


def build_app(
    models: ModelCatalog | Translator | Sequence[Translator], out_dir: Path | None = None,
    concurrency_limit: int = limits.CONCURRENCY_LIMIT,
) -> gr.Blocks:
    """Lay out the app around shared, thread-safe translators (no per-session copies).

    Translated files are written to `out_dir` (a fresh temporary directory by default).
    The queue is bounded so that a burst of requests is refused quickly rather than
    piling up behind CPU-bound decodes, and whole-file jobs get their own small pool.
    `concurrency_limit` is how many sentence events run at once: a couple when each decodes
    on its own, more when the translators batch them (`nmt serve --ui`).
    """
    _configure_environment()
    import gradio as gr

    from nmt.ui.handlers import NBEST_HEADERS, Handlers

    catalog = _as_catalog(models)
    handlers = Handlers(catalog, out_dir or make_output_dir())
    first = catalog.entries[0]
    beam_default, penalty_default = first.search_defaults
    src, tgt = first.translator.src_lang, first.translator.tgt_lang

    with gr.Blocks(
        title="nmt \u00b7 neural machine translation",
        analytics_enabled=False,
        delete_cache=(STATE_TTL_S, STATE_TTL_S),
    ) as demo:
        gr.Markdown("# nmt \u00b7 neural machine translation")
        with gr.Row(equal_height=True):
            model = gr.Dropdown(
                choices=catalog.choices(),
                value=catalog.default_key,
                label="Model",
                info="Language pair and best score of each model this server offers.",
                interactive=True,
                scale=2,
                elem_id="model",
            )
            card = gr.Markdown(first.describe(), label="Model card", elem_id="model-card")
        with gr.Accordion("Search settings", open=True):
            with gr.Row():
                beam = gr.Slider(
                    minimum=limits.MIN_BEAM, maximum=limits.MAX_BEAM, value=beam_default,
                    step=1, precision=0, label="Beam size",
                    info="1 is greedy; wider beams are slower, usually a little better.",
                    elem_id="beam",
                )
                length_penalty = gr.Slider(
                    minimum=limits.MIN_LENGTH_PENALTY, maximum=limits.MAX_LENGTH_PENALTY,
                    value=penalty_default, step=0.1, label="Length penalty",
                    info="Higher favours longer translations; 0 ranks by raw probability.",
                    elem_id="length-penalty",
                )
                nbest = gr.Slider(
                    minimum=1, maximum=limits.MAX_NBEST, value=limits.DEFAULT_NBEST, step=1,
                    precision=0, label="Translations to list",
                    info="The n best hypotheses of the beam (at most the beam size).",
                    elem_id="nbest-count",
                )

        with gr.Tabs():
            with gr.Tab("Text", id="text-tab"):
                with gr.Row():
                    with gr.Column():
                        source = gr.Textbox(
                            label=f"Source ({src})",
                            placeholder="Type a sentence and press Enter\u2026",
                            # One line: Gradio submits on Enter only for single-line boxes.
                            # It still grows as the text wraps.
                            lines=1, max_lines=8, max_length=limits.MAX_CHARS,
                            autofocus=True, elem_id="source",
                        )
                        counter = gr.HTML(_counter_text(), js_on_load=None, elem_id="char-counter")
                        with gr.Row():
                            translate_btn = gr.Button("Translate", variant="primary",
                                                      elem_id="translate-btn")
                            clear_btn = gr.ClearButton(value="Clear", elem_id="clear-btn")
                        live_on = gr.Checkbox(
                            value=False, label="Live: translate while I type",
                            info="Each word updates the translation; the grey tail may "
                            "still change. A pause or a full stop gives the final one.",
                            elem_id="live-toggle",
                        )
                    with gr.Column():
                        live_out = gr.HTML(
                            "", label="Live translation", show_label=True, container=True,
                            padding=True, visible=False, js_on_load=None, elem_id="live",
                        )
                        output = gr.Textbox(
                            label=f"Translation ({tgt})", lines=3, interactive=False,
                            buttons=["copy"], elem_id="translation",
                        )
                # The chosen model's own examples (held-out sources recorded at training).
                examples = gr.Examples(
                    examples=[[e] for e in first.examples] or [[""]], inputs=source,
                    label="Examples (click to use)", api_visibility="private",
                    cache_examples=False, visible=bool(first.examples),
                )
                nbest_table = gr.Dataframe(
                    headers=NBEST_HEADERS, datatype=["number", "str", "number"],
                    value=[], interactive=False, wrap=True, label="Best translations",
                    column_widths=["10%", "70%", "20%"], elem_id="nbest",
                )
                picker = gr.Radio(
                    choices=[], value=None, label="Show attention for hypothesis",
                    elem_id="hypothesis",
                )
                heatmap = gr.HTML("", label="Attention", js_on_load=None, elem_id="heatmap")
                heatmaps = gr.State([], time_to_live=STATE_TTL_S)
                live_session = gr.State(None, time_to_live=STATE_TTL_S)
                # Pressed by _LIVE_JS, never by the user: they exist for their click events.
                live_tick = gr.Button("live update", visible="hidden", elem_id="live-tick")
                live_pause = gr.Button("live final", visible="hidden", elem_id="live-pause")

            with gr.Tab("File", id="file-tab"):
                gr.Markdown(
                    "Translate a whole text file, one sentence per line. "
                    f"UTF-8 text, at most **{limits.human_bytes(limits.MAX_UPLOAD_BYTES)}**, "
                    f"**{limits.MAX_FILE_LINES:,} lines** and {limits.MAX_CHARS:,} characters "
                    "a line.",
                    elem_id="file-limits",
                )
                with gr.Row():
                    upload = gr.File(label="Text file to translate", file_count="single",
                                     type="filepath", elem_id="file-in")
                    download = gr.File(label="Translated file", interactive=False,
                                       elem_id="file-out")
                file_btn = gr.Button("Translate file", variant="primary", elem_id="file-btn")
                file_status = gr.Markdown("", label="Summary", elem_id="file-status")

        source.change(
            None, inputs=source, outputs=counter, js=_COUNTER_JS,
            queue=False, api_visibility="private",
        )
        clear_btn.add([source, output, nbest_table, heatmap])  # in the browser, no request
        source.change(
            None, inputs=[source, live_on], outputs=[], js=_LIVE_JS,
            queue=False, api_visibility="private",
        )
        live_inputs = [source, beam, length_penalty, model, live_session]
        # One stream per session: each event takes the session's lock. "always_last" drops
        # the updates a fast typist overtakes and still sends the latest text.
        for button, fn, name, description in (
            (live_tick, handlers.live, "live",
             "Live translation of the complete words of a text being typed (HTML)."),
            (live_pause, handlers.live_final, "live_final",
             "Final live translation of the whole text (HTML), as /translate gives it."),
        ):
            button.click(
                fn, inputs=live_inputs, outputs=[live_out, live_session],
                api_name=name, api_description=description, trigger_mode="always_last",
                show_progress="hidden", concurrency_id="sentences",
                concurrency_limit=concurrency_limit,
            )
        live_on.change(
            handlers.live_toggled, inputs=[live_on, *live_inputs],
            outputs=[live_out, live_session], api_visibility="private",
            show_progress="hidden", concurrency_id="sentences",
            concurrency_limit=concurrency_limit,
        )
        gr.on(
            triggers=[translate_btn.click, source.submit],
            fn=handlers.translate,
            inputs=[source, beam, length_penalty, nbest, model],
            outputs=[output, nbest_table, heatmap, picker, heatmaps],
            api_name="translate",
            api_description=(
                "Translate one text; returns the best translation, the n-best list "
                "(rank, translation, score) and the best hypothesis' attention heatmap (HTML)."
            ),
            concurrency_id="sentences",
            concurrency_limit=concurrency_limit,
        )
        picker.input(
            handlers.show_attention, inputs=[picker, heatmaps], outputs=heatmap,
            api_name="show_attention", queue=False,
            api_description="The attention heatmap of hypothesis `rank` of the last translation.",
        )
        file_btn.click(
            handlers.translate_file,
            inputs=[upload, beam, length_penalty, model],
            outputs=[download, file_status],
            api_name="translate_file",
            api_description="Translate a UTF-8 text file line by line; returns the new file.",
            concurrency_id="files",
            concurrency_limit=limits.FILE_CONCURRENCY_LIMIT,
        )
        model.change(
            handlers.select_model,
            inputs=model,
            outputs=[card, source, output, beam, length_penalty, nbest_table, heatmap, picker,
                     heatmaps, examples.dataset],
            api_name="select_model",
            api_description="Describe a model and reset the page for it.",
            queue=False,
        )

    demo.queue(default_concurrency_limit=concurrency_limit, max_size=limits.QUEUE_SIZE)
    return demo


def launch(
    models: ModelCatalog | Translator | Sequence[Translator],
    host: str = "127.0.0.1",
    port: int = 7860,
    block: bool = True,
) -> gr.Blocks:
    """Serve the app; never opens a share tunnel, never renders on a Node server.

    With `block=False` the server runs in a background thread and the caller owns it
    (stop it with `demo.close()`); this is what tests and embedding code need.
    """
    out_dir = make_output_dir()
    demo = build_app(models, out_dir)
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        prevent_thread_lock=not block,
        inbrowser=False,
        quiet=True,  # callers say where to connect; Gradio's banner suggests share links
        state_session_capacity=STATE_SESSIONS,
        **_serving_options(out_dir),
    )
    return demo


def _serving_options(out_dir: Path) -> dict:
    """What `launch` and `mount` both set: no SSR, telemetry pages or MCP, the upload cap,
    only the output directory served as files, and the page's CSS."""
    return dict(
        ssr_mode=False,
        footer_links=["api", "settings"],
        run_history=False,
        enable_monitoring=False,
        mcp_server=False,
        pwa=False,
        max_file_size=limits.MAX_UPLOAD_BYTES,
        allowed_paths=[str(out_dir)],
        css=_CSS,
    )


def mount(app, models: ModelCatalog | Sequence[Translator], path: str,
          concurrency_limit: int = limits.CONCURRENCY_LIMIT) -> gr.Blocks:
    """Mount the app on an existing FastAPI `app` at `path` (how `nmt serve --ui` offers it
    beside the HTTP API, over the same batched translators)."""
    import gradio as gr

    out_dir = make_output_dir()
    demo = build_app(models, out_dir, concurrency_limit=concurrency_limit)
    gr.mount_gradio_app(app, demo, path=path, **_serving_options(out_dir))
    return demo
