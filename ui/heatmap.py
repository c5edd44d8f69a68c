"""Attention matrices as self-contained HTML heatmaps.

Plain HTML with inline styles so the result renders the same inside Gradio, a
saved report or a notebook, needs no plotting dependency, and carries no script.
Every piece of text comes from user input or a vocabulary, so all of it is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

# Cell colour: this RGB at an opacity that grows with the weight. Translucent cells
# read correctly on light and dark themes alike; the small floor keeps the grid visible.
_RGB = "37,99,235"
_ALPHA_FLOOR = 0.04
_HEAD = "padding:1px 4px;font-weight:normal;white-space:nowrap;"
# Source pieces run across, so their labels are set vertically to keep columns narrow.
_COL_HEAD = _HEAD + "writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;"
_ROW_HEAD = _HEAD + "text-align:right;"
_CELL_SIZE = "1.4em"
# Every cell costs ~100 bytes of HTML; past this many the page gets sluggish and the
# picture unreadable anyway (and a sentence model rarely sees inputs that long).
MAX_CELLS = 10_000


def escape(text: str) -> str:
    """Escape for HTML, plus the characters a template engine might act on.

    Gradio's HTML component goes through a JavaScript/Handlebars template; writing
    `$`, `{` and `}` as character references means a piece such as `${x}` or `{{x}}`
    can never be read as template syntax, while looking identical on screen.
    """
    escaped = html.escape(text, quote=True)
    return escaped.replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def _clamp(weight: float) -> float:
    """Keep a weight within [0, 1]; NaN becomes 0 so one bad value can't break the page."""
    if math.isnan(weight):
        return 0.0
    return min(1.0, max(0.0, weight))


def _check_shape(
    src_pieces: Sequence[str], tgt_pieces: Sequence[str], attention: Sequence[Sequence[float]]
) -> None:
    """A mis-shaped matrix is a bug upstream; fail loudly rather than draw a wrong picture."""
    if len(attention) != len(tgt_pieces):
        raise ValueError(
            f"attention has {len(attention)} rows but there are {len(tgt_pieces)} target pieces"
        )
    for i, row in enumerate(attention):
        if len(row) != len(src_pieces):
            raise ValueError(
                f"attention row {i} has {len(row)} columns "
                f"but there are {len(src_pieces)} source pieces"
            )


def attention_heatmap(
    src_pieces: Sequence[str],
    tgt_pieces: Sequence[str],
    attention: Sequence[Sequence[float]],
    *,
    caption: str | None = None,
    max_cells: int | None = MAX_CELLS,
) -> str:
    """Render `attention` (one row per target piece, one column per source piece) as an HTML table.

    Darker cells mean more weight; hovering a cell shows the pair and the exact value
    (title attribute), which is the only way to read numbers without cluttering the grid.
    Matrices larger than `max_cells` get a one-line notice instead of a table.
    Raises ValueError when the matrix does not match the pieces.
    """
    _check_shape(src_pieces, tgt_pieces, attention)
    if not src_pieces or not tgt_pieces:
        return ""

    n_cells = len(src_pieces) * len(tgt_pieces)
    if max_cells is not None and n_cells > max_cells:
        return (
            '<p class="nmt-heatmap">Attention map not shown: '
            f"{len(tgt_pieces)} \u00d7 {len(src_pieces)} pieces "
            f"is more than {max_cells:,} cells.</p>"
        )

    parts: list[str] = ['<div class="nmt-heatmap" style="overflow-x:auto;">']
    parts.append(
        '<table style="border-collapse:separate;border-spacing:1px;font-size:0.85em;'
        'font-family:ui-monospace,monospace;">'
    )
    if caption:
        parts.append(f'<caption style="padding:4px;">{escape(caption)}</caption>')
    # Column widths and row heights are set once here rather than on every cell.
    parts.append(
        f'<colgroup><col><col span="{len(src_pieces)}" style="width:{_CELL_SIZE};"></colgroup>'
    )

    parts.append("<thead><tr><th></th>")
    src_labels = [escape(piece) for piece in src_pieces]
    for label in src_labels:
        parts.append(f'<th scope="col" style="{_COL_HEAD}">{label}</th>')
    parts.append("</tr></thead><tbody>")

    for tgt, row in zip(tgt_pieces, attention):
        tgt_label = escape(tgt)
        parts.append(
            f'<tr style="height:{_CELL_SIZE};"><th scope="row" style="{_ROW_HEAD}">{tgt_label}</th>'
        )
        for src_label, raw in zip(src_labels, row):
            weight = _clamp(float(raw))
            alpha = _ALPHA_FLOOR + (1.0 - _ALPHA_FLOOR) * weight
            parts.append(
                f'<td title="{src_label} \u2192 {tgt_label}: {weight:.3f}" '
                f'style="background:rgba({_RGB},{alpha:.3f});"></td>'
            )
        parts.append("</tr>")

    parts.append("</tbody></table></div>")
    return "".join(parts)
