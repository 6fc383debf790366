"""Search keys for patient names in Uzbek Latin, Uzbek Cyrillic, Russian Cyrillic or Russian-style Latin.

Registrars type a name in whatever script their keyboard has, and the registry keeps what was typed.
`search_key` maps any of these spellings to one lossy ASCII skeleton. It is stored next to the name in
an indexed column and applied to what the person types, so a search is `key LIKE 'prefix%'`. Pure
Python: no Django, no database.

The pipeline
------------
1. Romanize, letter by letter: the Uzbek ʻ/ʼ and every apostrophe people type instead (' ` ’ ‘ ´ …)
   become one apostrophe (before NFKC, which would turn ´ into a space); NFKC; casefold; Cyrillic to
   Latin by a table (ш sh, ч ch, щ shch, ж j, ё yo, ю yu, я ya, й y, ы i, э e, ц ts, ь dropped, ъ
   apostrophe; Uzbek ў o, қ q, ғ g, ҳ x; a few Karakalpak, Kazakh, Tajik and Ukrainian letters);
   Turkish-style ş ç ğ; accents dropped; digits kept; letters of other scripts dropped; anything else
   separates words. Words are joined by single spaces, so "surname name" prefixes work.
2. Fold each word, repeating until nothing changes (so `search_key` is idempotent by construction):
   - spellings of one sound: shch → sh, dzh/dj/zh → j, gh → g, q → k, w → v, and x, h, kh → "kh".
     Uzbek x and h are both Russian х. The skeleton is "kh" rather than "h" so that a typed "k" stays
     a prefix of "kh…" (Khasanov). An apostrophe keeps letters apart (Uzbek Isʼhoq is s + h, not sh);
   - apostrophes dropped: oʻ → o, gʻ → g, and oʻ typed as a plain o (Orinboev) meets oʻ;
   - ё/yo and ye after a consonant → e: Russian writes Фёдоров and Федоров, Королёв and Королев;
   - o → a. Uzbek o is the sound Russian spells а: Rahmonov/Рахманов, Qodirov/Кадыров,
     Toshmatov/Ташматов, -boyev/-баев, Yoqubov/Якубов. Names that differ only by a/o are, as far as we
     know, renderings of one name (Olim/Alim, Sobir/Sabir);
   - y: dropped between a vowel and e, because Russian е after a vowel is said "ye" (Aliyev/Алиев →
     aliev, Boyev/Баев, Mirzayev/Мирзаев), and after i (Mariya/Maria); "ye" at the start of a word
     → e (Yergash/Эргаш); otherwise a y not followed by a vowel → i (Aybek/Aibek, Sergey/Sergei,
     Kadyrov/Кадыров, Georgiy/Georgii);
   - doubled letters collapsed (Muhammad/Muhamad, Abdullayev/Abdulaev).

Deliberately not folded
-----------------------
- u and o. Uzbek ў/oʻ is Russian у (Жўраев/Жураев, Йўлдошев/Юлдашев), but the ʻ is usually left out
  when typing, so oʻ must meet o, and o already meets a: folding u too would make a, o, u one letter
  and merge distinct common names (Hasanov/Husanov, Usmonov/Osmonov, Normatov/Nurmatov).
- p and f (Sharipov/Sharifov), Russian г for Arabic h (Ибрагимов/Ibrohimov), e and i (Ergash/Irgash):
  each is one name in some families and two names in others.
- ts and s: Tsoy is not Soy.
Known misses that follow: Yoʻldoshev ≠ Yuldashev, Joʻrayev ≠ Jurayev (= Жураев), Ibrohimov ≠
Ibragimov, Ilyos ≠ Ilyas, Latin x read as "ks" (Alexandr ≠ Aleksandr), ICAO passport spellings with
iu/ia (Iuldashev), Ishoq typed without its ʼ ≠ Исҳоқ, Abdulkarimov ≠ Abdul-Karimov (a hyphen
separates words). Known false matches: names that differ only by a/o, x/h, q/k, a doubled letter or
a y before e (Rodin/Radin, Lola/Lala, Anna/Ana).

Prefix search while typing
--------------------------
Some rules look ahead (k + h → kh, d + zh → j, y before a vowel), so the key of a typed prefix is not
always a prefix of the key of the whole name: "Aliy" → "aliy…" but "Aliyev" → "aliev". With
`prefix=True` the last word is read as unfinished and keyed as the longest common prefix of its keys
under every continuation that can change it (each letter, and the rest of every multi-letter
spelling). That key is a prefix of the key of every name that starts with the typed text, at the
price of being shorter: "Aliy" → "ali", "Юлд" → "yul" (Юлдж… would be "yulj…"), and a lone "D", "Z"
or "Y" → "" (matches everything). The rules look at most one letter past a spelling, so these
continuations are enough; tests/patients/test_translit.py checks the property with hypothesis.
Decomposed input typed letter by letter (и, then a combining breve) is the one gap.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["matches", "search_key", "search_tokens"]

# Everything typed for the Uzbek ʻ (oʻ, gʻ) and ʼ (tutuq): ASCII ' and `, the modifier letters,
# typographic quotes, acute accent, prime.
_APOSTROPHE_LIKE = "'`´ʹʻʼʽʾʿˈ‘’‛′"
_APOSTROPHES = str.maketrans(dict.fromkeys(_APOSTROPHE_LIKE, "'"))

_LETTERS = str.maketrans(
    {
        # Russian
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "x", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "'", "ы": "i", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
        # Uzbek. ҳ becomes x, not h, so that с + ҳ (Исҳоқ) does not read as ш.
        "ў": "o", "қ": "q", "ғ": "g", "ҳ": "x",
        # Karakalpak, Kazakh, Tajik and Ukrainian letters found on the same keyboards.
        "ә": "a", "ө": "o", "ү": "u", "ұ": "u", "ң": "ng", "һ": "x", "і": "i", "ї": "yi",
        "є": "ye", "ґ": "g", "ӣ": "i", "ӯ": "u", "ҷ": "j",
        # Latin letters whose accent is not a combining mark, and the Turkish-style Uzbek of the 1990s.
        "ş": "sh", "ç": "ch", "ğ": "g", "ñ": "ng", "ń": "ng", "ŋ": "ng", "ı": "i", "ł": "l",
        "ø": "o", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "þ": "th",
        # Again after NFKC, which makes ASCII of the full-width forms.
        **dict.fromkeys(_APOSTROPHE_LIKE, "'"),
    }
)  # fmt: skip

# Spellings of one sound, longest first: the regex takes the first alternative that matches.
_SPELLINGS = {
    "shch": "sh",
    "dzh": "j",
    "dj": "j",
    "zh": "j",
    "kh": "kh",
    "sh": "sh",
    "ch": "ch",
    "gh": "g",
    "x": "kh",
    "h": "kh",
    "q": "k",
    "w": "v",
}
_SPELLING = re.compile("|".join(_SPELLINGS))
_SPACES = re.compile(" +")
_DOUBLE = re.compile(r"([a-z])\1+")
_E_AFTER_CONSONANT = re.compile(r"(?<=[b-df-hj-np-tv-xz])y[oe]")
_YE_AT_START = re.compile(r"^ye")
_Y_BEFORE_VOWEL = re.compile(r"(?<=[aeiu])y(?=e)|(?<=i)y(?=[aeiu])")
_Y_AS_VOWEL = re.compile(r"(?<=[a-z])y(?![aeiu])")

# What may follow an unfinished word and change its key: any single character, and the rest of
# every multi-letter spelling ("h" after "k", "zh" after "d", "ch" after "sh"…).
_CONTINUATIONS = (
    "",
    *"abcdefghijklmnopqrstuvwxyz0'",
    *sorted({spelling[cut:] for spelling in _SPELLINGS for cut in range(1, len(spelling))}),
)


def search_key(text: str, *, prefix: bool = False) -> str:
    """The ASCII skeleton of `text`: lower-case words of [a-z0-9] joined by single spaces.

    With prefix=True the text is the beginning of what is meant (a person still typing): the key is
    then a prefix of the key of every text that starts with `text`.
    """
    romanized = _romanize(text)
    words = romanized.split()
    keys = [_fold(word) for word in words]
    if prefix and words and not romanized.endswith(" "):
        keys[-1] = _fold_unfinished(words[-1])
    return " ".join(key for key in keys if key)


def search_tokens(text: str, *, prefix: bool = False) -> list[str]:
    """The words of the key. With prefix=True every word may be unfinished ("Yul Dil")."""
    fold = _fold_unfinished if prefix else _fold
    return [key for key in map(fold, _romanize(text).split()) if key]


def matches(query: str, *names: str) -> bool:
    """Whether every word of `query` begins some word of `names`, in any order and any script.

    An empty query matches. The Python-side twin of the indexed-column search, for checking a row.
    """
    have = [token for name in names for token in search_tokens(name)]
    return all(
        any(token.startswith(wanted) for token in have) for wanted in search_tokens(query, prefix=True)
    )


def _romanize(text: str) -> str:
    """Lower-case ASCII letters, digits and apostrophes; single spaces between words."""
    text = unicodedata.normalize("NFKC", text.translate(_APOSTROPHES)).casefold()
    text = unicodedata.normalize("NFD", text.translate(_LETTERS))
    chars: list[str] = []
    for char in text:
        if char.isascii() and (char.isalnum() or char == "'"):
            chars.append(char)
        elif unicodedata.category(char).startswith("M"):
            continue  # accents: é → e, ö → o
        elif (digit := unicodedata.decimal(char, None)) is not None:
            chars.append(str(digit))
        elif not char.isalpha():
            chars.append(" ")
        # A letter of another script has no spelling here: it is left out.
    return _SPACES.sub(" ", "".join(chars)).lstrip()


# Names repeat (common surnames, the query checked against each row), and folding is pure.
@lru_cache(maxsize=8192)
def _fold(word: str) -> str:
    while True:
        folded = _fold_once(word)
        if folded == word:
            return word
        word = folded


def _fold_once(word: str) -> str:
    word = _SPELLING.sub(lambda match: _SPELLINGS[match.group()], word)
    word = _DOUBLE.sub(r"\1", word.replace("'", ""))
    word = _E_AFTER_CONSONANT.sub("e", word).replace("o", "a")
    word = _YE_AT_START.sub("e", word)
    word = _Y_BEFORE_VOWEL.sub("", word)
    return _Y_AS_VOWEL.sub("i", word)


@lru_cache(maxsize=1024)
def _fold_unfinished(word: str) -> str:
    """The longest key that every completion of `word` starts with."""
    keys = [_fold(word + rest) for rest in _CONTINUATIONS]
    shortest = min(keys, key=len)
    for end, letter in enumerate(shortest):
        if any(key[end] != letter for key in keys):
            return shortest[:end]
    return shortest
