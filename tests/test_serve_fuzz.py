"""Fuzzing `nmt serve` with schemathesis against its own OpenAPI schema: whatever a client sends,
what the schema allows (positive) and what it does not (negative), the answer is never a 5xx
and never late.

Each operation's cases come from schemathesis' Hypothesis strategy for it (its pytest
decorators do not work with this pytest). The budget is small, since the suite must stay quick:
a couple of dozen cases per operation and mode, each answered within a fixed time. Texts are
capped at 200 characters on this server so that random input cannot make one case decode for
long; the limits themselves are tested in test_serve.py.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from serve_support import call, metric, served

ANSWER_WITHIN_S = 30
CASES = 20


@pytest.fixture(scope="module")
def service_url():
    from nmt.serve import ServeSettings, create_app
    from nmt.translator import Translator

    app = create_app([Translator.load(None)], ServeSettings(max_chars=200, max_texts=4,
                                                            max_total_chars=400))
    with served(app) as url:
        yield url


@pytest.mark.parametrize("mode, pinned", [(GenerationMode.POSITIVE, False),
                                          (GenerationMode.POSITIVE, True),
                                          (GenerationMode.NEGATIVE, False)])
def test_no_input_gets_a_server_error_or_hangs(service_url, mode, pinned):
    """``pinned``: the cases name the pair the server has (en, fr), so that random texts and
    settings reach the model instead of stopping at "no model translates xx into yy"."""
    schema = schemathesis.openapi.from_url(f"{service_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/translate", "/v1/translate", "/languages"}
    before = metric(call(f"{service_url}/metrics")[2], "nmt_sentences_translated_total")
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def one_case(case) -> None:
            if pinned and isinstance(case.body, dict):
                case.body.update({"source": "en", "target": "fr"})
                case.body.pop("model", None)
            case.call_and_validate(base_url=service_url, checks=[not_a_server_error],
                                   timeout=ANSWER_WITHIN_S)

        try:
            one_case()
        except Unsatisfiable:
            continue  # nothing to vary (no parameters, or no invalid form of them)
        except Exception as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc
    if pinned:  # the model was reached, not only the checks in front of it
        after = metric(call(f"{service_url}/metrics")[2], "nmt_sentences_translated_total")
        assert after - before >= 10, after - before
