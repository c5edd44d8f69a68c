"""The one exception type users see: a message that says what is wrong and what to do."""


class NmtError(Exception):
    """A user-facing error. The CLI prints its message (no traceback) and exits non-zero."""
