"""National identifiers: PINFL (Uzbekistan), SNILS and the OMS policy number (Russia). No database.

The valid examples are made-up people whose check digits were worked out by hand from the published rules
(the sums are in the comments), except SNILS 112-233-445 95, the Pension Fund's own example.
"""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from navbat.patients.identifiers import (
    COUNTRY_OF,
    KIND_NAMES,
    LENGTHS,
    MESSAGES,
    IdentifierError,
    IdentifierErrorCode,
    IdentifierKind,
    Sex,
    compute_check_digits,
    format_identifier,
    normalize,
    pinfl_birth_date,
    pinfl_sex,
    validate,
)

PINFL, SNILS, OMS = IdentifierKind.PINFL, IdentifierKind.SNILS, IdentifierKind.OMS

# A man born on 15 January 1990: code 3, 150190, district 268, serial 001.
# 3·7+1·3+5·1+0·7+1·3+9·1+0·7+2·3+6·1+8·7+0·3+0·1+1·7 = 116 → check digit 6.
PINFL_MAN_1990 = "31501902680016"
# A woman born on 29 February 2000 (a leap year): code 6, 290200, district 262, serial 013.
PINFL_WOMAN_2000 = "62902002620131"  # sum 111 → 1
SNILS_PUBLISHED = "112-233-445 95"  # 1·9+1·8+2·7+2·6+3·5+3·4+4·3+4·2+5·1 = 95
# 15 digits 123456789012345: the doubled odd positions from the right give 1+6+2+9+5+1+6+2 = 32,
# the others 4+2+0+8+6+4+2 = 26; 58 + 2 = 60 → check digit 2.
OMS_EXAMPLE = "1234567890123452"


def error_of(kind: IdentifierKind, raw: str, **patient: object) -> IdentifierError:
    with pytest.raises(IdentifierError) as caught:
        validate(kind, raw, **patient)  # type: ignore[arg-type]
    return caught.value


# The module


def test_the_module_loads_without_django():
    # The model layer calls it; it never calls back into Django.
    code = (
        "import sys, navbat.patients.identifiers; "
        "print(sorted(m for m in sys.modules if m.startswith('django')))"
    )
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_each_kind_has_its_country_length_and_name():
    assert COUNTRY_OF == {PINFL: "UZ", SNILS: "RU", OMS: "RU"}
    assert LENGTHS == {PINFL: 14, SNILS: 11, OMS: 16}
    assert set(KIND_NAMES) == set(IdentifierKind)


def test_every_error_code_has_an_english_message_with_only_known_placeholders():
    assert set(MESSAGES) == {code.value for code in IdentifierErrorCode}
    for message in MESSAGES.values():
        assert message % {"name": "PINFL", "expected": 14, "length": 13}


def test_an_error_is_a_value_error_with_a_stable_code_and_params():
    error = error_of(PINFL, "3150190268001")

    assert isinstance(error, ValueError)
    assert error.code == "wrong_length"
    assert error.kind is PINFL
    assert error.params == {"name": "PINFL", "expected": 14, "length": 13}
    assert str(error) == error.message == "The PINFL must have 14 digits; this one has 13."


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (PINFL, "3150190268001"),
        (PINFL, "31501902680017"),
        (PINFL, "33102902620134"),
        (PINFL, "3150190268001X"),
        (SNILS, "112-233-445 96"),
        (OMS, "1234567890123453"),
    ],
)
def test_no_error_carries_the_number_itself(kind, raw):
    # Identifiers are personal data: they must not reach logs through an exception's text.
    digits = "".join(c for c in raw if c.isdigit())

    error = error_of(kind, raw)

    for text in (str(error), repr(error), error.message, repr(error.params)):
        assert digits not in text


# Normalizing and formatting


@pytest.mark.parametrize(
    "raw",
    [
        "112-233-445 95",
        "11223344595",
        "112 233 445 95",
        "112-233-445-95",
        "112.233.445.95",
        " 112–233–445 95 ",  # en dashes, as word processors write them
        "112\u00a0233\u00a0445\u00a095",  # no-break spaces, as copied from a PDF
    ],
)
def test_spaces_dashes_and_dots_are_accepted_and_dropped(raw):
    assert normalize(SNILS, raw) == "11223344595"
    assert validate(SNILS, raw) == "11223344595"


@pytest.mark.parametrize(
    "raw",
    [
        "112-233-445 9O",  # a letter O for a zero
        "112/233/445 95",
        "+11223344595",
        "١١٢٢٣٣٤٤٥٩٥",  # Arabic-Indic digits: str.isdigit() says yes, the registry says no
        "１１２２３３４４５９５",  # full-width digits
    ],
)
def test_anything_but_ascii_digits_and_separators_is_refused(raw):
    with pytest.raises(IdentifierError) as caught:
        normalize(SNILS, raw)

    assert caught.value.code == "not_digits"
    assert caught.value.message == "The SNILS may contain only digits, spaces, dashes and dots."


def test_snils_is_shown_in_its_usual_form_and_the_others_as_digits():
    assert format_identifier(SNILS, "11223344595") == "112-233-445 95"
    assert format_identifier(SNILS, "112 233 445 95") == "112-233-445 95"
    assert format_identifier(PINFL, "3 150190 268 001 6") == PINFL_MAN_1990
    assert format_identifier(OMS, "1234 5678 9012 3452") == OMS_EXAMPLE


def test_a_number_of_the_wrong_length_cannot_be_formatted():
    with pytest.raises(IdentifierError, match="must have 11 digits; this one has 10"):
        format_identifier(SNILS, "1122334459")


def test_the_kind_may_be_given_as_its_stored_string():
    # The model stores "snils"; the enum member and its value are interchangeable.
    assert validate("snils", SNILS_PUBLISHED) == "11223344595"  # type: ignore[arg-type]


# PINFL


@pytest.mark.parametrize(
    ("raw", "born", "sex"),
    [
        (PINFL_MAN_1990, date(1990, 1, 15), Sex.MALE),
        (PINFL_WOMAN_2000, date(2000, 2, 29), Sex.FEMALE),
        ("3 150190 268 001 6", date(1990, 1, 15), Sex.MALE),
        ("42902881400024", date(1988, 2, 29), Sex.FEMALE),  # sum 134 → 4
        ("12412871000017", date(1887, 12, 24), Sex.MALE),  # code 1: the 1800s
        ("70101001000013", date(2100, 1, 1), Sex.MALE),  # code 7: the 2100s
    ],
)
def test_a_valid_pinfl_gives_its_date_of_birth_and_sex(raw, born, sex):
    assert validate(PINFL, raw) == raw.replace(" ", "")
    assert pinfl_birth_date(raw) == born
    assert pinfl_sex(raw) is sex
    assert validate(PINFL, raw, birth_date=born, sex=sex) == raw.replace(" ", "")


@pytest.mark.parametrize(
    ("raw", "length"),
    [("3150190268001", 13), ("315019026800160", 15), ("", 0)],
)
def test_a_pinfl_must_have_14_digits(raw, length):
    error = error_of(PINFL, raw)

    assert error.code == "wrong_length"
    assert error.message == f"The PINFL must have 14 digits; this one has {length}."


def test_a_pinfl_with_a_letter_is_refused():
    assert error_of(PINFL, "3150190268001O").code == "not_digits"


def test_a_pinfl_with_a_wrong_check_digit_is_refused():
    error = error_of(PINFL, "31501902680017")

    assert error.code == "bad_check_digit"
    assert error.message == "This PINFL fails its check-digit test; please look for a typing error."


@pytest.mark.parametrize("raw", ["01501902680015", "91501902680018"])  # check digits right, first digit not
def test_the_first_digit_of_a_pinfl_must_name_a_century_and_sex(raw):
    assert error_of(PINFL, raw).code == "bad_century"


@pytest.mark.parametrize(
    "raw",
    [
        "33102902620134",  # 31 February 1990, check digit right
        "32902002620130",  # 29 February 1900: not a leap year, although 2000 was
        "31513902680019",  # month 13, check digit right
        "30001902680018",  # day 00, check digit right
    ],
)
def test_a_pinfl_with_an_impossible_date_of_birth_is_refused(raw):
    error = error_of(PINFL, raw)

    assert error.code == "bad_birth_date"
    assert error.message == "This PINFL encodes a date of birth that does not exist."


def test_a_pinfl_that_is_not_the_patients_date_of_birth_is_refused():
    error = error_of(PINFL, PINFL_MAN_1990, birth_date=date(1990, 1, 16))

    assert error.code == "birth_date_mismatch"
    assert error.message == "The date of birth in this PINFL is not the patient's date of birth."


def test_a_pinfl_that_is_not_the_patients_sex_is_refused():
    error = error_of(PINFL, PINFL_MAN_1990, sex=Sex.FEMALE)

    assert error.code == "sex_mismatch"
    assert error.message == "The sex encoded in this PINFL is not the patient's sex."


def test_the_patients_sex_may_be_given_as_its_stored_string():
    assert validate(PINFL, PINFL_MAN_1990, sex="male") == PINFL_MAN_1990  # type: ignore[arg-type]
    assert error_of(PINFL, PINFL_MAN_1990, sex="female").code == "sex_mismatch"


def test_a_pinfl_born_a_century_apart_is_a_mismatch():
    # Code 5 with the same digits is 15 January 2090: the year's last two digits are not enough.
    assert error_of(PINFL, PINFL_MAN_1990, birth_date=date(2090, 1, 15)).code == "birth_date_mismatch"


def test_pinfl_data_is_only_read_from_a_valid_pinfl():
    with pytest.raises(IdentifierError, match="check-digit"):
        pinfl_birth_date("31501902680017")
    with pytest.raises(IdentifierError, match="check-digit"):
        pinfl_sex("31501902680017")


# SNILS


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("112233445", "95"),  # the published example: sum 95
        ("920000002", "99"),  # 81 + 16 + 2 = 99: below 100, the sum itself
        ("920000003", "00"),  # sum 100 → 00
        ("920000004", "00"),  # sum 101 → 00
        ("920000005", "01"),  # sum 102 → 102 mod 101 = 1
        ("999999999", "01"),  # sum 405 → 405 mod 101 = 1
        ("001001999", "65"),  # the first checked number
    ],
)
def test_snils_check_numbers_follow_the_pension_fund_rule(body, check):
    assert compute_check_digits(SNILS, body) == check
    assert validate(SNILS, body + check) == body + check


def test_a_snils_with_a_remainder_of_100_has_check_number_00():
    # 8·9+2·8+0·7+9·6+8·5+1·4+2·3+3·2+3·1 = 201; 201 mod 101 = 100 → 00.
    assert validate(SNILS, "820-981-233 00") == "82098123300"


def test_a_snils_with_a_wrong_check_number_is_refused():
    error = error_of(SNILS, "112-233-445 96")

    assert error.code == "bad_check_digit"
    assert error.message == "This SNILS fails its check-digit test; please look for a typing error."


@pytest.mark.parametrize(("raw", "length"), [("112-233-445 9", 10), ("112-233-445 955", 12)])
def test_a_snils_must_have_11_digits(raw, length):
    error = error_of(SNILS, raw)

    assert error.code == "wrong_length"
    assert error.message == f"The SNILS must have 11 digits; this one has {length}."


def test_a_snils_with_a_letter_is_refused():
    assert error_of(SNILS, "112-233-44S 95").code == "not_digits"


@pytest.mark.parametrize("raw", ["001-001-998 00", "001-001-998 47", "000-000-001 99", "000-000-000 00"])
def test_a_snils_up_to_001_001_998_is_not_checked(raw):
    # The Pension Fund checks only numbers above 001-001-998; below that any check number passes.
    assert validate(SNILS, raw) == normalize(SNILS, raw)


def test_the_first_number_above_the_unchecked_range_is_checked():
    assert error_of(SNILS, "001-001-999 00").code == "bad_check_digit"


def test_snils_ignores_birth_date_and_sex_it_does_not_carry():
    assert validate(SNILS, SNILS_PUBLISHED, birth_date=date(1990, 1, 1), sex=Sex.FEMALE) == "11223344595"


def test_snils_cannot_see_a_one_step_change_of_its_last_digit_between_remainders_100_and_0():
    # The known blind spot of the rule: remainders 100 and 0 both give check number 00, and the last digit
    # weighs 1, so 820-981-233 (remainder 100) and 820-981-234 (remainder 0) share it.
    assert validate(SNILS, "820-981-233 00")
    assert validate(SNILS, "820-981-234 00")


# OMS single policy number


@pytest.mark.parametrize("raw", [OMS_EXAMPLE, "1234 5678 9012 3452", "1234-5678-9012-3452"])
def test_a_valid_oms_number_is_accepted(raw):
    assert validate(OMS, raw) == OMS_EXAMPLE


def test_the_oms_check_digit_is_the_luhn_digit():
    # Published Luhn examples: 79927398713 (ISO/IEC 7812 worked example) and the test card number
    # 4111 1111 1111 1111. Leading zeros do not change a Luhn digit.
    assert compute_check_digits(OMS, "000007992739871") == "3"
    assert validate(OMS, "4111 1111 1111 1111") == "4111111111111111"


def test_the_oms_check_digit_follows_the_funds_worked_steps():
    # Order No. 79: for 770000000000001 the odd positions from the right read 1,0,0,0,0,0,0,7 → 10000007,
    # doubled 20000014; the even positions 0,0,0,0,0,0,7 → 0000007 written in front: 000000720000014;
    # its digits add up to 7+2+1+4 = 14, and 20 − 14 = 6.
    assert compute_check_digits(OMS, "770000000000001") == "6"
    assert validate(OMS, "7700000000000016") == "7700000000000016"


def test_an_oms_number_with_a_wrong_check_digit_is_refused():
    error = error_of(OMS, "1234567890123453")

    assert error.code == "bad_check_digit"
    assert error.message == (
        "This OMS policy number fails its check-digit test; please look for a typing error."
    )


@pytest.mark.parametrize(("raw", "length"), [("123456789012345", 15), ("12345678901234520", 17)])
def test_an_oms_number_must_have_16_digits(raw, length):
    error = error_of(OMS, raw)

    assert error.code == "wrong_length"
    assert error.message == f"The OMS policy number must have 16 digits; this one has {length}."


def test_an_oms_number_with_a_letter_is_refused():
    assert error_of(OMS, "12345678901234S2").code == "not_digits"


def test_a_body_of_the_wrong_size_has_no_check_digit():
    with pytest.raises(ValueError, match="15 ASCII digits"):
        compute_check_digits(OMS, "12345")


# Properties


@st.composite
def pinfl_bodies(draw: st.DrawFn) -> str:
    code = draw(st.integers(1, 8))
    century = 1800 + 100 * ((code - 1) // 2)
    born = draw(st.dates(date(century, 1, 1), date(century + 99, 12, 31)))
    place = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    return f"{code}{born:%d%m%y}{place}"


snils_checked_bodies = st.integers(1_001_999, 999_999_999).map(lambda n: f"{n:09d}")
oms_bodies = st.from_regex(r"[0-9]{15}", fullmatch=True)


def one_digit_changed(draw: st.DrawFn, value: str) -> tuple[str, int, int]:
    position = draw(st.integers(0, len(value) - 1))
    old = int(value[position])
    new = draw(st.integers(0, 9).filter(lambda digit: digit != old))
    return value[:position] + str(new) + value[position + 1 :], position, new - old


@given(body=pinfl_bodies())
def test_any_pinfl_body_with_its_check_digit_validates(body):
    value = body + compute_check_digits(PINFL, body)

    assert validate(PINFL, value) == value
    assert validate(PINFL, value, birth_date=pinfl_birth_date(value), sex=pinfl_sex(value)) == value


@given(body=pinfl_bodies(), data=st.data())
def test_a_pinfl_with_any_one_digit_changed_is_refused(body, data):
    # The weights 7, 3 and 1 have no factor in common with 10, so every single-digit change moves the sum
    # mod 10: none goes unseen. (Swapping two neighbours that differ by 5 does, as with any 7-3-1 check.)
    value = body + compute_check_digits(PINFL, body)
    changed, _, _ = one_digit_changed(data.draw, value)

    with pytest.raises(IdentifierError):
        validate(PINFL, changed)


@given(body=snils_checked_bodies)
def test_any_snils_body_with_its_check_number_validates_and_formats(body):
    value = body + compute_check_digits(SNILS, body)

    assert validate(SNILS, value) == value
    assert validate(SNILS, format_identifier(SNILS, value)) == value


@given(body=snils_checked_bodies, data=st.data())
def test_a_snils_with_one_digit_changed_is_refused_but_for_the_rules_blind_spots(body, data):
    check = compute_check_digits(SNILS, body)
    changed, position, delta = one_digit_changed(data.draw, body + check)

    try:
        validate(SNILS, changed)
    except IdentifierError as error:
        assert error.code == "bad_check_digit"
    else:
        # Only two changes can pass: one into the unchecked range up to 001-001-998, or the last body digit
        # (weight 1) moved by one between remainders 100 and 0, which both give 00.
        into_unchecked = int(changed[:9]) <= 1_001_998
        across_00 = position == 8 and abs(delta) == 1 and check == "00" and changed[9:] == "00"
        assert into_unchecked or across_00


@given(body=oms_bodies)
def test_any_oms_body_with_its_check_digit_validates(body):
    value = body + compute_check_digits(OMS, body)

    assert validate(OMS, value) == value


@given(body=oms_bodies, data=st.data())
def test_an_oms_number_with_any_one_digit_changed_is_refused(body, data):
    value = body + compute_check_digits(OMS, body)
    changed, _, _ = one_digit_changed(data.draw, value)

    with pytest.raises(IdentifierError) as caught:
        validate(OMS, changed)

    assert caught.value.code == "bad_check_digit"


def funds_steps(body: str) -> str:
    """The check digit worked exactly as order No. 79 words it, to hold the Luhn code to it."""
    from_right = body[::-1]
    odd = from_right[0::2]  # positions 1, 3, 5, … from the right, in that order
    even = from_right[1::2]
    number = even + str(int(odd) * 2)
    total = sum(int(digit) for digit in number)
    return str((10 - total % 10) % 10)


@given(body=oms_bodies)
def test_the_luhn_digit_equals_the_funds_worded_algorithm(body):
    assert compute_check_digits(OMS, body) == funds_steps(body)
