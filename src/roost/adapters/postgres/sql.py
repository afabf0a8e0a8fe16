"""Placeholders: the SQL adapters' ``?`` turned into PostgreSQL's ``$1, $2, ...``.

Written by hand because asyncpg takes only ``$n`` and has no paramstyle conversion, and a
full SQL parser (sqlparse) is far heavier than the one job: number the ``?`` that are not
inside a string literal, a quoted identifier, a dollar-quoted body or a comment. Each
distinct statement text is translated once (the cache is keyed by the text, and the texts
are the repositories' constants).
"""

from __future__ import annotations

import functools
import re

# The first thing that matters from a position: a quoted span, a comment, or a placeholder.
_TOKEN = re.compile(
    r"""
      '(?:[^']|'')*'            # string literal ('' escapes a quote)
    | "(?:[^"]|"")*"            # quoted identifier
    | --[^\n]*                  # line comment
    | /\*.*?\*/                 # block comment
    | \$\$.*?\$\$               # dollar-quoted body
    | \$(?P<tag>[A-Za-z_]\w*)\$.*?\$(?P=tag)\$   # ... with a tag
    | (?P<placeholder>\?)
    """,
    re.VERBOSE | re.DOTALL,
)


@functools.lru_cache(maxsize=4096)
def to_dollar(sql: str) -> str:
    """``sql`` with every ``?`` placeholder numbered for PostgreSQL."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group("placeholder") is None:
            return match.group(0)
        count += 1
        return f"${count}"

    return _TOKEN.sub(number, sql)


def rowcount(status: str) -> int:
    """Rows changed, from the command tag asyncpg returns (``INSERT 0 3``, ``UPDATE 2``)."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0
