"""How many SMS parts a text costs (3GPP TS 23.038 and 23.040).

A text that uses only the GSM 7-bit default alphabet goes as GSM-7: 160 characters in one SMS, 153 per part
when it is split (the rest of each part carries the concatenation header); a character of the extension
table (€ [ ] { } ^ ~ | \\ and form feed) takes two places, an escape and itself. Any other character — every
Cyrillic letter, the Uzbek ʻ and ’ apostrophes, emoji — makes the whole text UCS-2: 70 UTF-16 code units in
one SMS, 67 per part, and an emoji outside the Basic Multilingual Plane takes two. Phones never split an
escape sequence or a surrogate pair between parts, so neither does this count.

Pure Python: the template editor shows the count as the administrator types, and the SMS channel uses the
same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]

SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    characters: int  # places used: GSM-7 septets (an extension character counts 2) or UTF-16 code units
    segments: int  # SMS parts billed; 0 for an empty text
    per_segment: int  # places in each part: 160/153 for GSM-7, 70/67 for UCS-2


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _sizes(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def count_segments(text: str) -> Segments:
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    sizes = _sizes(text, encoding)
    characters = sum(sizes)
    if characters == 0:
        return Segments(encoding, 0, 0, SINGLE[encoding])
    if characters <= SINGLE[encoding]:
        return Segments(encoding, characters, 1, SINGLE[encoding])
    per_segment = PART[encoding]
    # Fill parts greedily; a two-place character that does not fit starts the next part.
    segments, used = 1, 0
    for size in sizes:
        if used + size > per_segment:
            segments, used = segments + 1, 0
        used += size
    return Segments(encoding, characters, segments, per_segment)
