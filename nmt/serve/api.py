"""nmt's own routes: ``POST /v1/translate`` with the search settings, n-best lists with scores and
attention, and ``GET /v1/models``.

Unlike the LibreTranslate route, a text here is one segment (no splitting at line ends), since
its scores and attention belong to one search. Requests are validated by their pydantic model;
a body that does not fit it gets FastAPI's 422 answer, which lists every wrong field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from nmt.serve.keys import KeyRing
from nmt.serve.libretranslate import ErrorBody
from nmt.serve.service import BadRequest, Service
from nmt.serve.settings import MAX_BEAM, MAX_LENGTH_PENALTY, MAX_NBEST


class Unauthorized(BadRequest):
    """No or a wrong bearer token on a /v1 route (HTTP 401)."""


class TranslateRequest(BaseModel):
    text: str | list[str] = Field(description="One text, or a list of texts (each one segment).",
                                  examples=["In the beginning God created the heaven and the earth."])
    model: str | None = Field(None, description="A model id from GET /v1/models; default the "
                                                "first one, or the one for source and target.")
    source: str | None = Field(None, description="Pick the model by language pair instead.")
    target: str | None = None
    beam: int | None = Field(None, ge=1, le=MAX_BEAM, description="Default: the model's.")
    length_penalty: float | None = Field(None, ge=0, le=MAX_LENGTH_PENALTY,
                                         description="Default: the model's.")
    nbest: int = Field(1, ge=1, le=MAX_NBEST, description="Hypotheses to return per text.")
    attention: bool = Field(False, description="Add each hypothesis' attention matrix.")


class Attention(BaseModel):
    source_pieces: list[str]
    target_pieces: list[str] = Field(description="Ends with </s>.")
    weights: list[list[float]] = Field(description="One row per target piece, one column per "
                                                   "source piece.")


class HypothesisOut(BaseModel):
    text: str
    score: float = Field(description="Length-normalised log-probability (higher is better).")
    attention: Attention | None = None


class TranslationOut(BaseModel):
    text: str = Field(description="The best translation (empty for a blank text).")
    truncated: bool = Field(description="The text was cut at the model's source length cap.")
    hypotheses: list[HypothesisOut]


class TranslateResponse(BaseModel):
    model: str
    translations: list[TranslationOut]


class ModelInfo(BaseModel):
    id: str
    name: str
    source: str
    target: str
    parameters: int
    beam: int
    length_penalty: float


def router(service: Service, keys: KeyRing) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["nmt"])
    bearer = HTTPBearer(auto_error=False, description="An API key, when the server has keys.")

    def authorised(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if keys.required and not keys.accepts(credentials.credentials if credentials else None):
            raise Unauthorized("a valid API key is needed: send `Authorization: Bearer KEY`.")

    @api.post("/translate", response_model=TranslateResponse, response_model_exclude_none=True,
              dependencies=[Depends(authorised)], summary="Translate with n-best lists",
              responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody},
                         413: {"model": ErrorBody}, 503: {"model": ErrorBody}})
    async def translate(body: TranslateRequest) -> dict[str, Any]:
        texts = service.check_texts(body.text if isinstance(body.text, list) else [body.text])
        if body.source is not None or body.target is not None:
            if body.model is not None or body.source is None or body.target is None:
                raise BadRequest("name a model, or both source and target, not a mix.")
            entry = service.route(body.source, body.target)
        else:
            entry = service.entry(body.model)
        options = service.options(entry, body.beam, body.length_penalty, body.nbest)
        done = await service.translate(entry, texts, options, body.nbest, body.attention)
        return {"model": entry.key, "translations": [
            {"text": t.text, "truncated": t.truncated, "hypotheses": [
                {"text": h.text, "score": h.score,
                 "attention": {"source_pieces": h.src_pieces, "target_pieces": h.tgt_pieces,
                               "weights": h.attention} if body.attention else None}
                for h in t.hypotheses]}
            for t in done]}

    @api.get("/models", response_model=list[ModelInfo], summary="The models this server offers")
    async def models() -> list[dict[str, Any]]:
        out = []
        for e in service.catalog.entries:
            t = e.translator
            out.append({"id": e.key, "name": t.name, "source": t.src_lang, "target": t.tgt_lang,
                        "parameters": t.n_params, "beam": t.options.beam,
                        "length_penalty": t.options.length_penalty})
        return out

    return api

