"""What an SMS costs: the count the template editor shows and the SMS channel relies on."""

from __future__ import annotations

import pytest

from navbat.notify.segments import count_segments


def test_an_empty_text_costs_nothing() -> None:
    counted = count_segments("")

    assert (counted.encoding, counted.characters, counted.segments) == ("GSM-7", 0, 0)


def test_a_latin_text_of_160_characters_is_one_gsm7_sms() -> None:
    counted = count_segments("a" * 160)

    assert (counted.encoding, counted.characters, counted.segments, counted.per_segment) == (
        "GSM-7",
        160,
        1,
        160,
    )


def test_one_more_character_splits_it_into_parts_of_153() -> None:
    assert (count_segments("a" * 161).segments, count_segments("a" * 161).per_segment) == (2, 153)
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


@pytest.mark.parametrize("char", list("€[]{}^~|\\\f"))
def test_an_extension_character_takes_two_places(char: str) -> None:
    counted = count_segments("a" * 158 + char)

    assert (counted.encoding, counted.characters, counted.segments) == ("GSM-7", 160, 1)
    assert count_segments("a" * 159 + char).segments == 2


def test_an_escape_sequence_is_never_split_between_parts() -> None:
    # 152 letters, then "€" (2 places) does not fit in the first part's 153: it starts the second.
    counted = count_segments("a" * 152 + "€" + "a" * 152)

    assert (counted.characters, counted.segments) == (306, 3)


def test_the_accented_letters_of_the_gsm7_alphabet_stay_gsm7() -> None:
    assert count_segments("Ça fait 10 € — non").encoding == "UCS-2"  # the em dash is not GSM-7
    assert count_segments("Ça fait 10 € - très bien, Ñoño, Øre, ÄÖÜ").encoding == "GSM-7"


def test_cyrillic_makes_the_text_ucs2_with_70_and_67_characters_per_part() -> None:
    assert (count_segments("я" * 70).encoding, count_segments("я" * 70).segments) == ("UCS-2", 1)
    counted = count_segments("я" * 71)
    assert (counted.segments, counted.per_segment) == (2, 67)
    assert count_segments("я" * 134).segments == 2
    assert count_segments("я" * 135).segments == 3


def test_one_cyrillic_letter_makes_a_long_latin_text_ucs2() -> None:
    counted = count_segments("Eslatma: " + "a" * 100 + " д")

    assert (counted.encoding, counted.segments) == ("UCS-2", 2)


def test_the_uzbek_okina_is_not_gsm7_but_a_plain_apostrophe_is() -> None:
    assert count_segments("Qabulingiz bo'ladi").encoding == "GSM-7"
    assert count_segments("Qabulingiz boʻladi").encoding == "UCS-2"
    assert count_segments("Qabulingiz bo’ladi").encoding == "UCS-2"


def test_an_emoji_counts_two_utf16_units_and_is_not_split() -> None:
    assert count_segments("😀").characters == 2
    assert count_segments("я" * 68 + "😀").segments == 1  # 70 units: fits one SMS
    counted = count_segments("я" * 66 + "😀" + "я" * 3)  # the pair would straddle the 67 boundary
    assert (counted.characters, counted.segments) == (71, 2)
    assert count_segments("я" * 66 + "😀" + "я" * 66).segments == 3


def test_a_typical_russian_reminder_costs_what_an_operator_expects() -> None:
    text = "Напоминаем: завтра в 10:30 приём у стоматолога. Ответьте 1 — приду, 2 — отменить."

    counted = count_segments(text)

    assert counted.encoding == "UCS-2"
    assert counted.characters == len(text)
    assert counted.segments == 2
