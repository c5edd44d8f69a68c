"""Language names for the codes models are trained with, as `GET /languages` shows them.

A model names its languages by code (``en``, ``fr``: ``data.src_lang`` and ``data.tgt_lang``);
LibreTranslate clients show a name beside each code. Codes not in this table are shown as
themselves, which is what a model trained with ``src``/``tgt`` gets.
"""

from __future__ import annotations

NAMES = {
    "ar": "Arabic", "az": "Azerbaijani", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan",
    "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
    "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "ga": "Irish", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "la": "Latin",
    "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay", "nb": "Norwegian", "nl": "Dutch",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sl": "Slovenian", "sq": "Albanian", "sv": "Swedish", "sw": "Swahili", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
    "zh": "Chinese",
}


def language_name(code: str) -> str:
    return NAMES.get(code.lower(), code)


def language_table(pairs: list[tuple[str, str]]) -> list[dict[str, object]]:
    """LibreTranslate's `/languages` answer for the (source, target) pairs served: every
    language once, with the languages it can be translated into (empty for target-only ones)."""
    targets: dict[str, list[str]] = {}
    for source, target in pairs:
        targets.setdefault(source, [])
        if target not in targets[source]:
            targets[source].append(target)
        targets.setdefault(target, [])
    return [{"code": code, "name": language_name(code), "targets": sorted(found)}
            for code, found in sorted(targets.items())]
