"""`nmt serve`: the LibreTranslate API for existing clients, nmt's /v1 API, batching that never
changes an answer, and the safe defaults (limits, a bounded queue, keys, CORS), all over real
HTTP against uvicorn serving the bundled model."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from serve_support import VERSES, call, metric, served

KEY = "test-key-0123456789abcdef"
SENTENCE = "In the beginning God created the heaven and the earth."


@pytest.fixture(scope="module")
def translator():
    from nmt.translator import Translator

    return Translator.load(None)


def app_for(translator, **settings):
    from nmt.serve import ServeSettings, create_app

    return create_app([translator], ServeSettings(**settings))


@pytest.fixture(scope="module")
def url(translator):
    # A longer gathering wait than the default, so concurrent test requests surely batch.
    with served(app_for(translator, max_wait_ms=100)) as base:
        yield base


# -- existing clients ----------------------------------------------------------------------------
def test_the_libretranslatepy_client_works_unchanged(url, translator):
    from libretranslatepy import LibreTranslateAPI

    client = LibreTranslateAPI(url)
    assert client.translate(SENTENCE, "en", "fr") == translator.translate([SENTENCE])[0]
    assert {"code": "en", "name": "English", "targets": ["fr"]} in client.languages()


def test_translate_takes_a_list_json_or_form_and_keeps_lines(url, translator):
    a, b = VERSES[:2]
    alone = translator.translate([a, b])
    status, _, answer = call(f"{url}/translate", {"q": [a, b], "source": "en", "target": "fr"})
    assert status == 200 and answer == {"translatedText": alone}
    # Each line of a text is a sentence; the line ends and the indentation stay.
    status, _, answer = call(f"{url}/translate", {"q": f"{a}\n  {b}\n", "source": "en",
                                                  "target": "fr"}, form=True)
    assert answer["translatedText"] == f"{alone[0]}\n  {alone[1]}\n"


def test_alternatives_and_auto_source(url, translator):
    status, _, answer = call(f"{url}/translate", {"q": SENTENCE, "source": "auto", "target": "fr",
                                                  "alternatives": 2})
    hyps = translator.translate_detailed(SENTENCE, nbest=3)
    assert status == 200
    assert answer["translatedText"] == hyps[0].text
    assert answer["alternatives"] == [h.text for h in hyps[1:]]
    assert answer["detectedLanguage"]["language"] == "en"


def test_html_keeps_the_markup_and_translates_the_text_between_tags(url, translator):
    a, b = VERSES[:2]
    page = (f'<p class="v">{a.replace("Aram", "A&amp;ram")}</p>\n<pre>{b}</pre>'
            f'<script>var s = "{b}";</script><!-- {b} --><p>{b}</p>')
    status, _, answer = call(f"{url}/translate", {"q": page, "source": "en", "target": "fr",
                                                  "format": "html"})
    one, two = translator.translate([a.replace("Aram", "A&ram"), b])
    assert status == 200
    assert answer["translatedText"] == (
        f'<p class="v">{one.replace("&", "&amp;").replace("<", "&lt;")}</p>\n<pre>{b}</pre>'
        f'<script>var s = "{b}";</script><!-- {b} --><p>{two}</p>')


@pytest.mark.parametrize("body, message", [
    ({"source": "en", "target": "fr"}, "missing q parameter"),
    ({"q": "Hi.", "source": "en", "target": "de"}, "no model translates 'en' into 'de'"),
    ({"q": "Hi.", "source": "en", "target": "fr", "format": "markdown"}, "'text' or 'html'"),
    ({"q": "x" * 2001, "source": "en", "target": "fr"}, "the limit is 2,000"),
    ({"q": ["Hi."] * 65, "source": "en", "target": "fr"}, "the limit is 64"),
    ({"q": "Hi.", "source": "en", "target": "fr", "alternatives": 9}, "from 0 to 4"),
])
def test_mistakes_get_libretranslate_error_answers(url, body, message):
    status, _, answer = call(f"{url}/translate", body)
    assert status == 400 and set(answer) == {"error"} and message in answer["error"]


# -- nmt's own API ---------------------------------------------------------------------------------
def test_v1_gives_nbest_with_scores_and_attention(url, translator):
    status, _, answer = call(f"{url}/v1/translate", {"text": [SENTENCE, " "], "nbest": 2,
                                                     "beam": 4, "attention": True})
    expected = translator.translate_detailed(SENTENCE, beam=4, nbest=2)
    assert status == 200 and answer["model"] == "bible-en-fr"
    first, blank = answer["translations"]
    assert [h["text"] for h in first["hypotheses"]] == [h.text for h in expected]
    assert [h["score"] for h in first["hypotheses"]] == pytest.approx([h.score for h in expected])
    att = first["hypotheses"][0]["attention"]
    flat = [w for row in att["weights"] for w in row]
    assert flat == pytest.approx([w for row in expected[0].attention for w in row])
    assert att["source_pieces"] == expected[0].src_pieces
    assert blank == {"text": "", "truncated": False, "hypotheses": []}
    status, _, answer = call(f"{url}/v1/translate", {"text": SENTENCE, "beam": 99})
    assert status == 422  # out of the schema's range: FastAPI names the field
    status, _, models = call(f"{url}/v1/models")
    assert models[0]["id"] == "bible-en-fr" and models[0]["beam"] == translator.options.beam


# -- batching ----------------------------------------------------------------------------------------
def test_concurrent_requests_are_batched_and_answered_as_if_alone(url, translator):
    verses = VERSES[:24]
    alone = [translator.translate([v])[0] for v in verses]
    before = call(f"{url}/metrics")[2]

    def ask(i):
        if i % 2:
            return call(f"{url}/translate", {"q": verses[i], "source": "en", "target": "fr"},
                        form=True)[2]["translatedText"]
        return call(f"{url}/v1/translate", {"text": verses[i]})[2]["translations"][0]["text"]

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, range(len(verses))))
    assert answers == alone
    after = call(f"{url}/metrics")[2]
    batches = (metric(after, "nmt_batch_requests_count", model="bible-en-fr")
               - metric(before, "nmt_batch_requests_count", model="bible-en-fr"))
    assert 0 < batches < len(verses)  # some searches served several requests at once


# -- operations ------------------------------------------------------------------------------------
def test_health_metrics_and_openapi(url):
    call(f"{url}/translate", {"q": SENTENCE, "source": "en", "target": "fr"})
    status, _, health = call(f"{url}/health")
    assert status == 200 and health["status"] == "ok"
    assert health["models"]["bible-en-fr"]["queued_sentences"] == 0
    status, headers, text = call(f"{url}/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert metric(text, "nmt_requests_total", route="/translate", status="200") >= 1
    for name in ("nmt_request_duration_seconds_bucket", "nmt_batch_sentences_bucket",
                 "nmt_queue_sentences", "nmt_search_duration_seconds_count"):
        assert name in text, name
    paths = call(f"{url}/openapi.json")[2]["paths"]
    assert {"/translate", "/languages", "/v1/translate", "/health", "/metrics"} <= set(paths)


def test_the_command_binds_to_localhost_by_default():
    from nmt.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.api_key_file, args.cors_origin) == ("127.0.0.1", 5000, None, [])


# -- safety ------------------------------------------------------------------------------------------
def test_a_declared_oversized_body_is_refused_before_it_is_read(url):
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 50000000\r\n\r\n{")  # 50 MB announced, one byte sent
        reply = b""
        while chunk := s.recv(65536):  # the server answers and closes the connection
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413") and '"error"' in reply


def test_a_chunked_body_is_cut_off_at_the_limit(url):
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
    chunks = (b"x" * 65536 for _ in range(100))  # 6.5 MB, far over the 256 KB default
    try:
        conn.request("POST", "/translate", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json"})
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending
    assert conn.getresponse().status == 413


class Gated:
    """A translator whose searches wait for ``open``: the test decides when the model is busy."""

    def __init__(self, translator):
        from nmt.translator import Translator

        self.gate = threading.Event()
        self.entered = threading.Event()  # a search has started (and waits at the gate)
        gate, entered = self.gate, self.entered

        class GatedTranslator(Translator):
            def search(self, *args, **kwargs):
                entered.set()
                gate.wait(30)
                return super().search(*args, **kwargs)

        t = translator
        self.translator = GatedTranslator(t.model, t.src_tokenizer, t.tgt_tokenizer, t.config,
                                          t.model_dir, t.meta, t.shortlist)


def test_a_full_queue_answers_503_with_retry_after(translator):
    gated = Gated(translator)
    app = app_for(gated.translator, max_queue=2, max_texts=2)
    body = {"q": SENTENCE, "source": "en", "target": "fr"}
    with served(app) as base, ThreadPoolExecutor(3) as pool:
        first = pool.submit(call, f"{base}/translate", body)  # the search the worker is in
        # The worker must hold the first request before the next arrive: an empty queue alone
        # is also what the server shows before the first request has reached it.
        assert gated.entered.wait(20), "the first request never reached the model"
        _wait_for(lambda: metric(call(f"{base}/metrics")[2], "nmt_queue_sentences") == 0
                  and not first.done(), base)
        second = pool.submit(call, f"{base}/translate", {**body, "q": [SENTENCE, SENTENCE]})
        _wait_for(lambda: metric(call(f"{base}/metrics")[2], "nmt_queue_sentences") == 2, base)
        status, headers, answer = call(f"{base}/translate", body)  # no room: 2 waiting, limit 2
        assert status == 503 and int(headers["retry-after"]) >= 1 and "busy" in answer["error"]
        gated.gate.set()
        assert first.result()[0] == 200 and second.result()[0] == 200
        text = call(f"{base}/metrics")[2]
        assert metric(text, "nmt_rejected_requests_total", reason="queue_full") == 1


def test_a_request_over_its_time_answers_503(translator):
    gated = Gated(translator)
    with served(app_for(gated.translator, timeout_s=0.5)) as base:
        status, headers, answer = call(f"{base}/translate",
                                       {"q": SENTENCE, "source": "en", "target": "fr"})
        gated.gate.set()
    assert status == 503 and "retry-after" in headers and "0.5 s" in answer["error"]


def test_api_keys_are_required_checked_and_never_logged(translator, caplog):
    from libretranslatepy import LibreTranslateAPI

    app = app_for(translator, api_keys=(KEY,))
    body = {"q": SENTENCE, "source": "en", "target": "fr"}
    with caplog.at_level(logging.DEBUG), served(app) as base:
        assert LibreTranslateAPI(base, api_key=KEY).translate(SENTENCE, "en", "fr")
        assert call(f"{base}/translate", body)[:3:2] == (403, {"error": (
            "Please provide an API key (api_key); ask the server's operator for one.")})
        assert call(f"{base}/translate?api_key={KEY}x", {**body, "api_key": KEY + "x"})[::2] == (
            403, {"error": "Invalid API key"})
        status, headers, _ = call(f"{base}/v1/translate", {"text": SENTENCE})
        assert status == 401 and headers["www-authenticate"] == "Bearer"
        assert call(f"{base}/v1/translate", {"text": SENTENCE},
                    headers={"Authorization": f"Bearer {KEY}"})[0] == 200
        assert call(f"{base}/languages")[0] == call(f"{base}/health")[0] == 200  # public
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert '"POST /translate" 403' in logged and KEY not in logged


def test_cors_is_off_unless_an_origin_is_named(translator, url):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    _, headers, _ = call(f"{url}/translate", method="OPTIONS", headers=preflight)
    assert "access-control-allow-origin" not in {k.lower() for k in headers}
    with served(app_for(translator, cors_origins=("https://example.org",))) as base:
        status, headers, _ = call(f"{base}/translate", method="OPTIONS", headers=preflight)
    assert status == 200 and headers["access-control-allow-origin"] == "https://example.org"


def _wait_for(condition, base: str, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{base}: condition not reached"
        time.sleep(0.02)


def test_the_command_table_stays_light():
    """`nmt --help` lists `serve` without importing torch or the web stack."""
    import subprocess
    import sys

    code = ("import sys; from nmt.cli import build_parser; build_parser(); "
            "sys.exit(' '.join(m for m in ('torch', 'fastapi', 'uvicorn', 'gradio', "
            "'prometheus_client') if m in sys.modules) or None)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_command_serves_until_interrupted(tmp_path):
    """`nmt serve` as a user starts it: keys from a file, one request, then Ctrl+C, which
    shuts the app down in order (the batcher finishes its queue) and exits cleanly (status 0,
    whichever uvicorn: before 0.55 it raised Ctrl+C again after shutting down)."""
    import signal
    import subprocess
    import sys

    from ui_support import free_port

    keys = tmp_path / "keys"
    keys.write_text(f"# the test's key\n{KEY}\n", encoding="utf-8")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "nmt", "serve", "--port", str(port), "--api-key-file", str(keys),
         "--max-wait-ms", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while call_or_none(f"http://127.0.0.1:{port}/health") is None:
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
            time.sleep(0.2)
        status, _, answer = call(f"http://127.0.0.1:{port}/translate",
                                 {"q": SENTENCE, "source": "en", "target": "fr", "api_key": KEY})
        assert status == 200 and answer["translatedText"]
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0]
    assert server.returncode == 0 and "Application shutdown complete" in output, output
    assert "Serving bible-en-fr: en -> fr" in output and '"POST /translate" 200' in output
    assert KEY not in output


def call_or_none(url: str):
    try:
        return call(url, timeout=2)
    except OSError:
        return None
