"""HTML for LibreTranslate's ``format: "html"``: the text between tags is translated, the markup
is kept exactly as it was sent.

A document is cut at every tag and comment; each run of text between them (entities decoded) is
translated on its own, and the result is escaped again where it was. Text inside ``script``,
``style``, ``pre`` and ``code`` is left alone. Inline markup therefore splits a sentence
(``<b>``, ``<a>``): each part is translated separately, which keeps the page intact at some cost
in fluency; send plain text where the markup does not matter.
"""

from __future__ import annotations

import html
import re

_MARKUP = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<[^>]*(?:>|\Z)", re.S)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)")
_VERBATIM = {"script", "style", "pre", "code", "textarea"}


def split(document: str) -> list[tuple[str, bool]]:
    """``document`` as (piece, is_text) in order: markup pieces are never translated, and
    neither is text inside a verbatim element. Joining the pieces gives ``document`` back."""
    pieces: list[tuple[str, bool]] = []
    inside: list[str] = []  # the verbatim elements open at this point
    at = 0
    for match in _MARKUP.finditer(document):
        if match.start() > at:
            pieces.append((document[at : match.start()], not inside))
        pieces.append((match.group(), False))
        tag = _TAG.match(match.group())
        if tag and tag.group(2).lower() in _VERBATIM and not match.group().rstrip().endswith("/>"):
            name = tag.group(2).lower()
            if not tag.group(1):
                inside.append(name)
            elif name in inside:
                del inside[len(inside) - 1 - inside[::-1].index(name)]
        at = match.end()
    if at < len(document):
        pieces.append((document[at:], not inside))
    return pieces


def texts(pieces: list[tuple[str, bool]]) -> list[str]:
    """The texts to translate (entities decoded), one per translatable piece with any words."""
    return [html.unescape(p) for p, is_text in pieces if is_text and p.strip()]


def join(pieces: list[tuple[str, bool]], translated: list[str]) -> str:
    """The document with each translatable piece replaced by its translation (escaped), in the
    order :func:`texts` gave them."""
    out, given = [], iter(translated)
    for piece, is_text in pieces:
        out.append(html.escape(next(given), quote=False) if is_text and piece.strip() else piece)
    return "".join(out)
