"""National identifiers a clinic may require for state-funded care, checked by their published rules.

Pure Python: no Django, no database, no clock. The model layer calls `validate()` and turns an
`IdentifierError` into a form error, translating the English message itself:

    ValidationError(gettext(MESSAGES[e.code]), code=e.code,
                    params={**e.params, "name": gettext(KIND_NAMES[e.kind])})

An identifier is personal data: no message, parameter or exception text here ever contains the value.

The rules:

- **PINFL** (Uzbekistan, ЖШШИР / ПИНФЛ), 14 digits: century-and-sex code, date of birth DDMMYY,
  district code (3), serial number (3), check digit. The check digit is the sum of the first 13 digits
  weighted 7, 3, 1, 7, 3, 1, … taken mod 10 (the ICAO 9303 machine-readable-zone rule).
- **SNILS** (Russia, СНИЛС), 11 digits written "112-233-445 95": nine digits and a two-digit check number.
  Sum of the nine digits weighted 9, 8, …, 1; below 100 the sum is the check number; 100 and 101 give 00;
  above 101 the check number is the sum mod 101, where a remainder of 100 also gives 00. Only numbers above
  001-001-998 are checked: smaller ones pass with any check number.
- **OMS** single policy number (Russia, единый номер полиса ОМС), 16 digits, the last a check digit computed
  as in the Federal OMS Fund's order No. 79 of 7 April 2011: over the first 15 digits counted from the right,
  the odd-position digits, read as one number, are doubled; the even-position digits are written in front;
  all digits of the result are added; the check digit takes the sum up to the next multiple of 10. Doubling
  a number carries exactly where a digit is 5 or more, so this is the Luhn algorithm, which is what runs here.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from itertools import cycle

__all__ = [
    "COUNTRY_OF",
    "KIND_NAMES",
    "LENGTHS",
    "MESSAGES",
    "IdentifierError",
    "IdentifierErrorCode",
    "IdentifierKind",
    "Sex",
    "compute_check_digits",
    "format_identifier",
    "normalize",
    "pinfl_birth_date",
    "pinfl_sex",
    "validate",
]


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class IdentifierKind(StrEnum):
    PINFL = "pinfl"
    SNILS = "snils"
    OMS = "oms"


COUNTRY_OF: dict[IdentifierKind, str] = {
    IdentifierKind.PINFL: "UZ",
    IdentifierKind.SNILS: "RU",
    IdentifierKind.OMS: "RU",
}

# English names for messages; the Django layer translates them with the message.
KIND_NAMES: dict[IdentifierKind, str] = {
    IdentifierKind.PINFL: "PINFL",
    IdentifierKind.SNILS: "SNILS",
    IdentifierKind.OMS: "OMS policy number",
}

LENGTHS: dict[IdentifierKind, int] = {
    IdentifierKind.PINFL: 14,
    IdentifierKind.SNILS: 11,
    IdentifierKind.OMS: 16,
}

_CHECK_LENGTHS: dict[IdentifierKind, int] = {
    IdentifierKind.PINFL: 1,
    IdentifierKind.SNILS: 2,
    IdentifierKind.OMS: 1,
}


class IdentifierErrorCode(StrEnum):
    NOT_DIGITS = "not_digits"
    WRONG_LENGTH = "wrong_length"
    BAD_CENTURY = "bad_century"
    BAD_BIRTH_DATE = "bad_birth_date"
    BAD_CHECK_DIGIT = "bad_check_digit"
    BIRTH_DATE_MISMATCH = "birth_date_mismatch"
    SEX_MISMATCH = "sex_mismatch"


MESSAGES: dict[str, str] = {
    IdentifierErrorCode.NOT_DIGITS: "The %(name)s may contain only digits, spaces, dashes and dots.",
    IdentifierErrorCode.WRONG_LENGTH: "The %(name)s must have %(expected)d digits; this one has %(length)d.",
    IdentifierErrorCode.BAD_CENTURY: "The first digit of the %(name)s must be from 1 to 8.",
    IdentifierErrorCode.BAD_BIRTH_DATE: "This %(name)s encodes a date of birth that does not exist.",
    IdentifierErrorCode.BAD_CHECK_DIGIT: (
        "This %(name)s fails its check-digit test; please look for a typing error."
    ),
    IdentifierErrorCode.BIRTH_DATE_MISMATCH: (
        "The date of birth in this %(name)s is not the patient's date of birth."
    ),
    IdentifierErrorCode.SEX_MISMATCH: "The sex encoded in this %(name)s is not the patient's sex.",
}


class IdentifierError(ValueError):
    """An identifier broke its rules: `code` is stable, `message` is English, from MESSAGES and params."""

    code: str
    params: dict[str, object]
    kind: IdentifierKind

    def __init__(self, code: IdentifierErrorCode, kind: IdentifierKind, **params: object) -> None:
        self.code = code
        self.kind = kind
        self.params = {"name": KIND_NAMES[kind], **params}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return MESSAGES[self.code] % self.params


# Whitespace (including no-break spaces), dots and the dashes that copying from documents brings in.
_SEPARATORS = re.compile(r"[\s.\-\u2010\u2011\u2012\u2013\u2014\u2212]+")
_ASCII_DIGITS = re.compile(r"[0-9]*")  # not \d or str.isdigit: those accept Arabic-Indic and other digits

# SNILS numbers up to 001-001-998 are not checked (Pension Fund rule).
_SNILS_LAST_UNCHECKED = 1_001_998


def normalize(kind: IdentifierKind, raw: str) -> str:
    """The digits of `raw`, without spaces, dashes and dots; anything else is an error."""
    kind = IdentifierKind(kind)
    digits = _SEPARATORS.sub("", raw)
    if not _ASCII_DIGITS.fullmatch(digits):
        raise IdentifierError(IdentifierErrorCode.NOT_DIGITS, kind)
    return digits


def validate(
    kind: IdentifierKind, raw: str, *, birth_date: date | None = None, sex: Sex | None = None
) -> str:
    """The normalized identifier, or IdentifierError.

    `birth_date` and `sex` are the patient's, when known; they are cross-checked against a PINFL, which
    encodes both. SNILS and OMS numbers carry neither, so there they are ignored.
    """
    kind = IdentifierKind(kind)
    value = normalize(kind, raw)
    _check_length(kind, value)
    # A PINFL's date is read before its check digit: "31 February" says more than "typing error".
    encoded = _pinfl_parts(value) if kind is IdentifierKind.PINFL else None
    if not _check_digits_match(kind, value):
        raise IdentifierError(IdentifierErrorCode.BAD_CHECK_DIGIT, kind)
    if encoded is not None:
        encoded_birth_date, encoded_sex = encoded
        if birth_date is not None and birth_date != encoded_birth_date:
            raise IdentifierError(IdentifierErrorCode.BIRTH_DATE_MISMATCH, kind)
        if sex is not None and Sex(sex) is not encoded_sex:
            raise IdentifierError(IdentifierErrorCode.SEX_MISMATCH, kind)
    return value


def pinfl_birth_date(value: str) -> date:
    """The date of birth a valid PINFL encodes (IdentifierError if the PINFL is not valid)."""
    return _pinfl_parts(validate(IdentifierKind.PINFL, value))[0]


def pinfl_sex(value: str) -> Sex:
    """The sex a valid PINFL encodes (IdentifierError if the PINFL is not valid)."""
    return _pinfl_parts(validate(IdentifierKind.PINFL, value))[1]


def format_identifier(kind: IdentifierKind, value: str) -> str:
    """The display form: SNILS as "112-233-445 95", the others as plain digits. Checks the length only."""
    kind = IdentifierKind(kind)
    digits = normalize(kind, value)
    _check_length(kind, digits)
    if kind is IdentifierKind.SNILS:
        return f"{digits[0:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"
    return digits


def compute_check_digits(kind: IdentifierKind, body: str) -> str:
    """The check digit(s) to append to `body`, the identifier without them (for demo data and tests).

    SNILS bodies up to 001-001-998 get the formula's result, although such numbers are not checked.
    """
    kind = IdentifierKind(kind)
    expected = LENGTHS[kind] - _CHECK_LENGTHS[kind]
    if len(body) != expected or not _ASCII_DIGITS.fullmatch(body):
        raise ValueError(f"a {kind} body is {expected} ASCII digits")
    digits = [int(digit) for digit in body]
    if kind is IdentifierKind.PINFL:
        return _pinfl_check(digits)
    if kind is IdentifierKind.SNILS:
        return _snils_check(digits)
    return _luhn_check(digits)


def _check_length(kind: IdentifierKind, digits: str) -> None:
    if len(digits) != LENGTHS[kind]:
        raise IdentifierError(
            IdentifierErrorCode.WRONG_LENGTH, kind, expected=LENGTHS[kind], length=len(digits)
        )


def _check_digits_match(kind: IdentifierKind, value: str) -> bool:
    split = LENGTHS[kind] - _CHECK_LENGTHS[kind]
    body, check = value[:split], value[split:]
    if kind is IdentifierKind.SNILS and int(body) <= _SNILS_LAST_UNCHECKED:
        return True
    return compute_check_digits(kind, body) == check


def _pinfl_parts(value: str) -> tuple[date, Sex]:
    """Date of birth and sex from a PINFL of 14 digits: 1/2 born in the 1800s, 3/4 the 1900s,
    5/6 the 2000s, 7/8 the 2100s; odd codes are men, even codes women."""
    code = int(value[0])
    if not 1 <= code <= 8:
        raise IdentifierError(IdentifierErrorCode.BAD_CENTURY, IdentifierKind.PINFL)
    century = 1800 + 100 * ((code - 1) // 2)
    sex = Sex.MALE if code % 2 else Sex.FEMALE
    day, month, year = int(value[1:3]), int(value[3:5]), century + int(value[5:7])
    try:
        born = date(year, month, day)
    except ValueError:
        raise IdentifierError(IdentifierErrorCode.BAD_BIRTH_DATE, IdentifierKind.PINFL) from None
    return born, sex


def _pinfl_check(digits: list[int]) -> str:
    return str(sum(digit * weight for digit, weight in zip(digits, cycle((7, 3, 1)))) % 10)


def _snils_check(digits: list[int]) -> str:
    total = sum(digit * weight for digit, weight in zip(digits, range(9, 0, -1), strict=True))
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101 % 100  # a remainder of 100 is written 00 too
    return f"{check:02d}"


def _luhn_check(digits: list[int]) -> str:
    total = 0
    for position, digit in enumerate(reversed(digits), start=1):
        if position % 2:  # odd positions from the right, the check digit not counted, are doubled
            doubled = digit * 2
            total += doubled - 9 if doubled > 9 else doubled
        else:
            total += digit
    return str(-total % 10)
