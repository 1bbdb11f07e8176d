"""Text that came from outside (labels in a model, names in a gallery, file names) on its way to a
terminal or a file name: control characters escaped, names made safe. Labels and card fields are
attacker-controlled: a model file can carry any bytes."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def has_control(text: str) -> bool:
    """True when `text` holds a control character (escape sequences, newlines, NUL, ...)."""
    if _CONTROL.search(text):
        return True
    if text.isascii():  # the common case needs no Unicode tables (unicodedata: 0.3 MB of start-up)
        return False
    import unicodedata

    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def printable(text: object) -> str:
    """`text` safe for a terminal line: control characters shown as \\xNN / \\uNNNN escapes."""
    def escape(m: re.Match[str]) -> str:
        c = ord(m.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
    return _CONTROL.sub(escape, str(text))


def printable_lines(text: object) -> str:
    """`printable` for each line of a multi-line text (the line breaks themselves stay)."""
    return "\n".join(printable(line) for line in str(text).splitlines())


def safe_filename(text: str, limit: int = 40) -> str:
    """A file-name part made of letters, digits, '.', '_' and '-' only (no separators, no dots at
    the start, at most `limit` characters); "x" when nothing is left."""
    import unicodedata

    name = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFKD", text)).strip("._")[:limit].strip("._")
    return name or "x"
