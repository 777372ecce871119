"""Case and accent folding that keeps every character where it was.

Folding maps each character to exactly one character, so an offset in the folded text is the
same offset in the original: matches found in folded text highlight the original directly.
"""

from __future__ import annotations

import re
import unicodedata

# A word is a run of letters and digits: "India-Israel" is two words, "U.S." is "u" "s",
# "India's" is "india" "s". Queries are cut up by the same rule, so they line up with the text.
WORD = re.compile(r"[^\W_]+")


class _FoldTable(dict[int, str]):
    """str.translate table filled on first use: one character in, one character out."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        for candidate in (base.lower(), char.lower()):
            if len(candidate) == 1:
                self[code] = candidate
                return candidate
        self[code] = char
        return char


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lower-case and strip accents ("Défense" -> "defense"), same length as `text`."""
    return text.lower() if text.isascii() else text.translate(_TABLE)


def words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    return WORD.findall(fold(text))
