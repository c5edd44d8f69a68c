"""Server-side validation of what a request asks for.

Kept free of Gradio so the rules can be tested (and reused) on their own. Every check
raises NmtError with a sentence a user can act on; the app turns that into a popup.
Values arrive from the API as JSON, so "5", 5.0 or None must all be handled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nmt.errors import NmtError
from nmt.ui import limits


@dataclass(frozen=True)
class Decoding:
    """Validated search settings for one request."""

    beam: int
    length_penalty: float
    nbest: int


def check_text(text: Any) -> str:
    """The text to translate, or an error when it is over the limit or not text at all."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise NmtError("The text to translate must be a string.")
    if len(text) > limits.MAX_CHARS:
        raise NmtError(
            f"The text is {len(text):,} characters long; the limit is {limits.MAX_CHARS:,}. "
            "Shorten it, split it into several requests, or use file translation."
        )
    return text


def _number(value: Any, what: str) -> float:
    """A finite number from a JSON value; booleans are refused since True is not a beam size."""
    if isinstance(value, bool):
        raise NmtError(f"{what} must be a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NmtError(f"{what} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise NmtError(f"{what} must be a finite number.")
    return number


def _whole(value: Any, what: str, low: int, high: int) -> int:
    number = _number(value, what)
    if number != int(number) or not low <= number <= high:
        raise NmtError(f"{what} must be a whole number from {low} to {high}.")
    return int(number)


def check_decoding(beam: Any, length_penalty: Any, nbest: Any = 1) -> Decoding:
    """Beam size, length penalty and n-best count within the ranges the sliders offer.

    The n-best count is capped at the beam size.
    """
    beam_size = _whole(beam, "Beam size", limits.MIN_BEAM, limits.MAX_BEAM)
    n = _whole(nbest, "The number of translations", 1, limits.MAX_NBEST)
    penalty = _number(length_penalty, "Length penalty")
    if not limits.MIN_LENGTH_PENALTY <= penalty <= limits.MAX_LENGTH_PENALTY:
        raise NmtError(
            f"Length penalty must be from {limits.MIN_LENGTH_PENALTY:g} "
            f"to {limits.MAX_LENGTH_PENALTY:g}."
        )
    # A beam of k holds at most k hypotheses: asking for more shows what there is rather
    # than silently widening the search the user chose.
    return Decoding(beam_size, penalty, min(n, beam_size))
