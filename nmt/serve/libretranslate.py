"""The LibreTranslate routes: what existing LibreTranslate clients call, answered by nmt.

``POST /translate`` takes JSON or a form (``libretranslatepy`` sends a form), ``q`` as one text
or a list, and answers ``{"translatedText": ...}`` in the same shape; errors are
``{"error": "..."}`` with LibreTranslate's status codes (400 for a bad request, 403 for a
missing or wrong API key). ``GET /languages`` lists what can be translated into what, and
``GET /frontend/settings`` the limits a client may show. With ``format`` "html" the text between
tags is translated and the markup kept (:mod:`nmt.serve.markup`). Language detection is not
offered: ``source`` "auto" works only when one language can be read into the target.

The body is parsed by hand rather than by a FastAPI model because the same fields arrive as
JSON or as a form, and LibreTranslate clients expect its error shape, not FastAPI's; the
OpenAPI schema still describes both encodings (``openapi_extra``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from nmt.serve import markup
from nmt.serve.keys import KeyRing
from nmt.serve.languages import language_table
from nmt.serve.service import BadRequest, Service
from nmt.serve.settings import MAX_NBEST


class Forbidden(BadRequest):
    """No API key, or one this server does not know (HTTP 403, as LibreTranslate answers)."""


class ErrorBody(BaseModel):
    error: str = Field(description="What was wrong and what to do, in one sentence.")


class Language(BaseModel):
    code: str = Field(examples=["en"])
    name: str = Field(examples=["English"])
    targets: list[str] = Field(examples=[["fr"]])


class DetectedLanguage(BaseModel):
    language: str
    confidence: float = Field(description="Always 0: nmt does not detect; this is the only "
                                          "language the server reads into the target.")


class TranslateAnswer(BaseModel):
    translatedText: str | list[str]  # noqa: N815 - LibreTranslate's field names
    alternatives: list[str] | list[list[str]] | None = None
    detectedLanguage: DetectedLanguage | list[DetectedLanguage] | None = None  # noqa: N815


def _body_schema(limit_chars: int, limit_texts: int, form: bool) -> dict[str, Any]:
    text = {"type": "string", "maxLength": limit_chars}
    q = text if form else {"oneOf": [text, {"type": "array", "items": text,
                                            "maxItems": limit_texts}]}
    return {
        "type": "object",
        "required": ["q", "source", "target"],
        "properties": {
            "q": {**q, "description": "The text, or (JSON only) a list of texts.",
                  "example": "In the beginning God created the heaven and the earth."},
            "source": {"type": "string", "description": "Source language code, or 'auto'.",
                       "example": "en"},
            "target": {"type": "string", "description": "Target language code.", "example": "fr"},
            "format": {"type": "string", "enum": ["text", "html"], "default": "text",
                       "description": "html: the text between tags is translated, the markup "
                                      "kept."},
            "alternatives": {"type": "integer", "minimum": 0, "maximum": MAX_NBEST - 1,
                             "default": 0, "description": "Other translations to add."},
            "api_key": {"type": "string", "description": "Needed when the server has keys."},
        },
    }


async def read_fields(request: Request) -> dict[str, Any]:
    """The request's fields, from a JSON object or a form (a repeated form field is a list)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except Exception:  # noqa: BLE001 - a malformed form is the client's to fix
            raise BadRequest("Invalid request: the form could not be parsed.") from None
        fields: dict[str, Any] = {}
        for name in set(form.keys()):
            values = [v for v in form.getlist(name) if isinstance(v, str)]
            fields[name] = values[0] if len(values) == 1 else values
        return fields
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        fields = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("Invalid request: the body is neither JSON nor a form; send "
                         "application/json or application/x-www-form-urlencoded.") from None
    if not isinstance(fields, dict):
        raise BadRequest("Invalid request: the JSON body must be an object.")
    return fields


def _string(fields: dict[str, Any], name: str, default: str | None = None) -> str:
    value = fields.get(name, default)
    if value is None or value == "":
        raise BadRequest(f"Invalid request: missing {name} parameter")
    if not isinstance(value, str):
        raise BadRequest(f"Invalid request: {name} must be a string.")
    return value


def _alternatives(value: Any) -> int:
    if value is None or value == "":
        return 0
    try:
        n = int(value)
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
    except (TypeError, ValueError):
        raise BadRequest("Invalid request: alternatives must be a whole number.") from None
    if not 0 <= n <= MAX_NBEST - 1:
        raise BadRequest(f"Invalid request: alternatives must be from 0 to {MAX_NBEST - 1}.")
    return n


def check_key(keys: KeyRing, fields: dict[str, Any], request: Request) -> None:
    """LibreTranslate clients send ``api_key`` in the body; a Bearer header works too."""
    if not keys.required:
        return
    presented = fields.get("api_key")
    header = request.headers.get("authorization", "")
    if not presented and header[:7].lower() == "bearer ":
        presented = header[7:].strip()
    if not presented:
        raise Forbidden("Please provide an API key (api_key); ask the server's operator for one.")
    if not keys.accepts(presented):
        raise Forbidden("Invalid API key")


async def translate_html(service: Service, entry, documents: list[str], options,
                         nbest: int) -> list[list[str]]:
    """Each HTML document's ``nbest`` versions: its text between tags translated line by line,
    its markup as sent (nmt.serve.markup)."""
    split = [markup.split(d) for d in documents]
    parts = [markup.texts(pieces) for pieces in split]
    done = await service.translate_lines(entry, [t for p in parts for t in p], options, nbest)
    out, at = [], 0
    for pieces, texts in zip(split, parts):
        mine, at = done[at : at + len(texts)], at + len(texts)
        ranks = max([1, *(len(v) for v in mine)])
        out.append([markup.join(pieces, [v[min(r, len(v) - 1)] for v in mine])
                    for r in range(ranks)])
    return out


def router(service: Service, keys: KeyRing) -> APIRouter:
    """The LibreTranslate-compatible routes over ``service``."""
    api = APIRouter(tags=["LibreTranslate"])
    s = service.settings
    errors = {400: {"model": ErrorBody, "description": "Invalid request"},
              403: {"model": ErrorBody, "description": "Missing or invalid API key"},
              413: {"model": ErrorBody, "description": "Body too large"},
              503: {"model": ErrorBody, "description": "Busy: retry after Retry-After seconds"}}

    @api.post(
        "/translate", response_model=TranslateAnswer, response_model_exclude_none=True,
        responses=errors, summary="Translate text (LibreTranslate)",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": _body_schema(s.max_chars, s.max_texts, form=False)},
            "application/x-www-form-urlencoded": {
                "schema": _body_schema(s.max_chars, s.max_texts, form=True)},
        }}},
    )
    async def translate(request: Request) -> dict[str, Any]:
        fields = await read_fields(request)
        check_key(keys, fields, request)
        q = fields.get("q")
        if q is None or q == "":
            raise BadRequest("Invalid request: missing q parameter")
        source, target = _string(fields, "source"), _string(fields, "target")
        kind = _string(fields, "format", "text")
        if kind not in ("text", "html"):
            raise BadRequest("Invalid request: format must be 'text' or 'html'.")
        alternatives = _alternatives(fields.get("alternatives"))
        texts = service.check_texts(q if isinstance(q, list) else [q])
        entry = service.route(source, target)
        options = service.options(entry, nbest=alternatives + 1)
        if kind == "html":
            versions = await translate_html(service, entry, texts, options, alternatives + 1)
        else:
            versions = await service.translate_lines(entry, texts, options, alternatives + 1)
        best = [v[0] for v in versions]
        answer: dict[str, Any] = {"translatedText": best if isinstance(q, list) else best[0]}
        if alternatives:
            others = [v[1:] for v in versions]
            answer["alternatives"] = others if isinstance(q, list) else others[0]
        if source == "auto":
            detected = {"language": entry.translator.src_lang, "confidence": 0.0}
            answer["detectedLanguage"] = [detected] * len(texts) if isinstance(q, list) else detected
        return answer

    @api.get("/languages", response_model=list[Language], summary="Languages (LibreTranslate)")
    async def languages() -> list[dict[str, Any]]:
        return language_table([(e.translator.src_lang, e.translator.tgt_lang)
                               for e in service.catalog.entries])

    @api.get("/frontend/settings", summary="Limits a client may show (LibreTranslate)")
    async def frontend_settings() -> dict[str, Any]:
        first = service.catalog.entries[0].translator
        return {"charLimit": s.max_chars, "keyRequired": keys.required, "apiKeys": keys.required,
                "suggestions": False, "filesTranslation": False, "supportedFilesFormat": [],
                "language": {"source": {"code": first.src_lang}, "target": {"code": first.tgt_lang}}}

    return api
