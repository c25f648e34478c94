"""User text in the CLIs' messages, kept to one line (docs/reliability.md
section 6, "One line per message"): names are quoted with ``repr`` (the
.NET CLI's Quote.Text mirrors it), and :func:`line` escapes any control or
non-printable character still in a message, so an error is one line and no
escape sequence reaches the terminal."""

from __future__ import annotations

__all__ = ['line']

_SHORT = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}


def _escaped(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code <= 0xff:
        return f'\\x{code:02x}'
    return f'\\u{code:04x}' if code <= 0xffff else f'\\U{code:08x}'


def line(text: str) -> str:
    """*text* with every non-printable character (str.isprintable, ' '
    kept) escaped as repr does, quotes added nowhere."""
    if text.isprintable():
        return text
    return ''.join(c if c.isprintable() else _escaped(c) for c in text)
