"""Every limit the web UI enforces, in one place.

The same numbers drive the widgets (slider ranges, the character counter, the upload
notice) and the server-side checks, so what a user is told is exactly what is enforced.
The browser's own limits are a convenience only: anything can be posted to the API.
"""

from __future__ import annotations

# Long inputs tie up a worker for seconds and the models are trained on single sentences.
MAX_CHARS = 2000

MIN_BEAM, MAX_BEAM = 1, 10
MIN_LENGTH_PENALTY, MAX_LENGTH_PENALTY = 0.0, 2.0
MAX_NBEST = 5
DEFAULT_NBEST = 3

# File translation: a megabyte of text is a few thousand sentences, minutes of CPU time.
MAX_UPLOAD_BYTES = 1024 * 1024
MAX_FILE_LINES = 5000
# Lines are decoded in chunks of this many, so the progress bar moves steadily.
FILE_CHUNK_LINES = 32

# The translator is thread-safe, but the machine's cores are the real limit: a couple of
# concurrent decodes keep them busy, more only make every request slower.
CONCURRENCY_LIMIT = 2
# A whole file holds its worker for minutes; it gets its own slot so sentences keep flowing.
FILE_CONCURRENCY_LIMIT = 1
# Beyond this many waiting requests new ones are refused at once instead of waiting minutes.
QUEUE_SIZE = 64


def human_bytes(n: int) -> str:
    """Sizes as people read them (1 MB, 512 KB), for messages and the upload notice."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
