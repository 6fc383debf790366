"""The Uzbek and Russian catalogues: complete, compiled, in step with the source, and served by Django.

No database and no GNU gettext: a fresh machine has only Python. Strings are collected from the source the
way `makemessages` would find them: Python through the ast module, templates through Django's own
`templatize` (the step makemessages runs before xgettext), so `{% translate %}`, `{% blocktranslate %}`,
contexts and plurals are all seen.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polib
import pytest
from django.utils import translation
from django.utils.translation.template import templatize

from navbat import i18n_tools

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "navbat"
LOCALE_DIR = SOURCE_DIR / "locale"
LANGUAGES = ("uz", "ru")
PLURAL_FORMS = {"uz": 1, "ru": 3}
TEMPLATE_SUFFIXES = {".html", ".txt"}

# (context, msgid, msgid_plural); "" where there is none, as in a .po entry.
Key = tuple[str, str, str]

# The gettext functions makemessages extracts, with the argument positions of context, msgid and plural.
KEYWORDS: dict[str, tuple[int | None, int, int | None]] = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}

# A Python string literal as templatize writes it, and a gettext call with up to three of them.
STRING = r"""u?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
TEMPLATE_CALL = re.compile(
    rf"\b(?P<name>n?p?gettext)\(\s*(?P<a>{STRING})(?:\s*,\s*(?P<b>{STRING}))?(?:\s*,\s*(?P<c>{STRING}))?"
)
# A printf-style conversion as the % operator reads it: %(name)s, %s, %.2f; "%%" is a literal percent.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


# --- reading the catalogues -------------------------------------------------------------------------


def po_file(language: str) -> Any:
    return polib.pofile(str(LOCALE_DIR / language / "LC_MESSAGES" / "django.po"))


def mo_file(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.mo"


def live_entries(po: Any) -> list[Any]:
    return [entry for entry in po if not entry.obsolete]


def forms(entry: Any) -> tuple[str, ...]:
    if entry.msgid_plural:
        return tuple(entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural))
    return (entry.msgstr,)


def key(entry: Any) -> Key:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def compiled_messages(catalogue: Iterable[Any]) -> set[tuple[Key, tuple[str, ...]]]:
    return {(key(entry), forms(entry)) for entry in catalogue}


def runtime_headers(catalogue: Any) -> dict[str, str]:
    """The header fields gettext reads (charset, plural rule); dates and names may differ."""
    return {name: catalogue.metadata.get(name, "") for name in ("Language", "Content-Type", "Plural-Forms")}


def placeholders(text: str) -> Counter[str]:
    return Counter(found for found in PLACEHOLDER.findall(text) if found != "%%")


# --- reading the source -----------------------------------------------------------------------------


def call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def message_key(arguments: list[str | None], positions: tuple[int | None, int, int | None]) -> Key | None:
    """The (context, msgid, plural) of a gettext call, or None when an argument it needs is not a literal."""
    context, msgid, plural = (
        "" if index is None else arguments[index] if index < len(arguments) else None for index in positions
    )
    if context is None or not msgid or plural is None:
        return None
    return (context, msgid, plural)


def python_messages(path: Path) -> set[Key]:
    found: set[Key] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        positions = KEYWORDS.get(call_name(node.func))
        if positions and (message := message_key([literal(arg) for arg in node.args], positions)):
            found.add(message)
    return found


def template_messages(path: Path) -> set[Key]:
    found: set[Key] = set()
    for call in TEMPLATE_CALL.finditer(templatize(path.read_text(encoding="utf-8"), origin=str(path))):
        arguments: list[str | None] = [ast.literal_eval(text) for text in call.group("a", "b", "c") if text]
        if (message := message_key(arguments, KEYWORDS[call.group("name")])) is not None:
            found.add(message)
    return found


def python_sources() -> Iterator[Path]:
    for path in sorted(SOURCE_DIR.rglob("*.py")):
        if "migrations" not in path.relative_to(SOURCE_DIR).parts:
            yield path


def template_sources() -> Iterator[Path]:
    for path in sorted(SOURCE_DIR.rglob("*")):
        if path.suffix in TEMPLATE_SUFFIXES and "templates" in path.relative_to(SOURCE_DIR).parts:
            yield path


def source_messages() -> dict[Key, str]:
    """Every translatable string in navbat/, with the file it was first seen in."""
    found: dict[Key, str] = {}
    for path in python_sources():
        for message in python_messages(path):
            found.setdefault(message, str(path.relative_to(ROOT)))
    for path in template_sources():
        for message in template_messages(path):
            found.setdefault(message, str(path.relative_to(ROOT)))
    return found


# --- (a) every entry translated, not fuzzy, placeholders kept ---------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_header_names_language_charset_and_plural_forms(language):
    po = po_file(language)

    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == language
    assert "charset=UTF-8" in po.metadata["Content-Type"]
    assert f"nplurals={PLURAL_FORMS[language]};" in po.metadata["Plural-Forms"].replace(" ", "")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_is_translated_and_not_fuzzy(language):
    entries = live_entries(po_file(language))

    fuzzy = [entry.msgid for entry in entries if entry.fuzzy]
    untranslated = [entry.msgid for entry in entries if not all(forms(entry))]
    wrong_plurals = [
        entry.msgid for entry in entries if entry.msgid_plural and len(forms(entry)) != PLURAL_FORMS[language]
    ]

    assert entries
    assert fuzzy == [], f"{language}: fuzzy entries"
    assert untranslated == [], f"{language}: untranslated entries"
    assert wrong_plurals == [], f"{language}: plural entries without {PLURAL_FORMS[language]} forms"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_msgid_placeholders(language):
    differing = [
        (entry.msgid, form)
        for entry in live_entries(po_file(language))
        for form in forms(entry)
        if form and placeholders(form) != placeholders(entry.msgid_plural or entry.msgid)
    ]

    assert differing == []


def test_uzbek_uses_the_modifier_letters_for_o_g_and_the_glottal_stop():
    """Official Latin orthography: oʻ gʻ with U+02BB and the tutuq belgisi ʼ (U+02BC), never ' ‘ ’ `."""
    stray = [
        (entry.msgid, form)
        for entry in live_entries(po_file("uz"))
        for form in forms(entry)
        if re.search(r"['‘’`]", form)
    ]

    assert stray == []


# --- (b) the committed .mo files are compiled from the current .po files ----------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_mo_matches_the_po(language):
    """Run `python -m navbat.i18n_tools compile` (or `make messages`) after editing a .po file."""
    po = po_file(language)
    expected = polib.mofile(po.to_binary())
    committed = polib.mofile(str(mo_file(language)))

    assert compiled_messages(committed) == compiled_messages(expected)
    assert runtime_headers(committed) == runtime_headers(expected)


# --- (c) every string in the source is in both catalogues -------------------------------------------


def test_the_source_scan_finds_strings_in_python_and_templates():
    assert any(python_messages(path) for path in python_sources())
    assert any(template_messages(path) for path in template_sources())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_source_string_is_in_the_catalogue(language):
    """Run `navbat makemessages -l uz -l ru …` (see the Makefile) and translate what it adds."""
    known = {key(entry) for entry in live_entries(po_file(language))}

    missing = {message: where for message, where in source_messages().items() if message not in known}

    assert missing == {}


# --- (d) Django serves the translations -------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_django_serves_the_sign_in_translation(language):
    expected = po_file(language).find("Sign in").msgstr

    with translation.override(language):
        served = translation.gettext("Sign in")

    assert served == expected
    assert served != "Sign in"


@pytest.mark.parametrize("language", LANGUAGES)
def test_django_serves_our_catalogue_before_its_own(language):
    """LOCALE_PATHS wins over Django's and other apps' catalogues for msgids they share ("name", "date")."""
    entries = [entry for entry in live_entries(po_file(language)) if not entry.msgid_plural]

    with translation.override(language):
        served = {
            entry.msgid: translation.pgettext(entry.msgctxt, entry.msgid)
            if entry.msgctxt
            else translation.gettext(entry.msgid)
            for entry in entries
        }

    assert served == {entry.msgid: entry.msgstr for entry in entries}


# --- the tool that compiles and checks them ---------------------------------------------------------


def test_i18n_tools_check_passes_on_the_committed_catalogues(capsys):
    assert i18n_tools.main(["check"]) == 0


def write_catalogue(locale_dir: Path, language: str, entries: list[Any]) -> Path:
    po = polib.POFile()
    po.metadata = {
        "Language": language,
        "Content-Type": "text/plain; charset=UTF-8",
        "Plural-Forms": "nplurals=1; plural=0;",
    }
    po.extend(entries)
    path = i18n_tools.po_path(language, locale_dir)
    path.parent.mkdir(parents=True)
    po.save(str(path))
    return path


def test_i18n_tools_compile_writes_a_catalogue_that_python_gettext_reads(tmp_path):
    import gettext

    write_catalogue(tmp_path, "uz", [polib.POEntry(msgid="Today", msgstr="Bugun")])

    assert i18n_tools.main(["compile", "--locale-dir", str(tmp_path)]) == 0
    with i18n_tools.mo_path("uz", tmp_path).open("rb") as compiled:
        assert gettext.GNUTranslations(compiled).gettext("Today") == "Bugun"


def test_i18n_tools_check_lists_untranslated_fuzzy_and_stale_msgids(tmp_path, capsys):
    path = write_catalogue(
        tmp_path,
        "uz",
        [
            polib.POEntry(msgid="Today", msgstr="Bugun"),
            polib.POEntry(msgid="Sign in", msgstr=""),
            polib.POEntry(msgid="Next day", msgstr="Keyingi kun", flags=["fuzzy"]),
        ],
    )
    write_catalogue(tmp_path, "ru", [polib.POEntry(msgid="Today", msgstr="Сегодня")])
    i18n_tools.main(["compile", "--locale-dir", str(tmp_path)])
    po = polib.pofile(str(path))
    po.find("Today").msgstr = "Bugun!"
    po.save()

    assert i18n_tools.main(["check", "--locale-dir", str(tmp_path)]) == 1
    report = capsys.readouterr().err
    assert "uz: untranslated: 'Sign in'" in report
    assert "uz: fuzzy: 'Next day'" in report
    assert "uz: django.mo is stale for 'Today'" in report
    assert "ru:" not in report
