"""Translation catalogues without GNU gettext: compile the .po files to .mo, and check they are complete.

    python -m navbat.i18n_tools compile   # navbat/locale/<lang>/LC_MESSAGES/django.po -> django.mo
    python -m navbat.i18n_tools check     # exit 1, listing what is untranslated, fuzzy or not compiled
    python -m navbat.i18n_tools fill F.json  # write translations from a JSON file into the .po files

The JSON file for `fill` maps a msgid to its translations, {"Chair": {"uz": "Kreslo", "ru": "Кресло"}};
a plural entry (found by its singular msgid) takes a list of forms, one per the language's plural forms.

A fresh machine has Python but not `msgfmt`, so the .mo files are written with polib (a dev dependency).
Extracting new strings (`navbat makemessages`) still needs gettext; that is a developer's job, not a user's.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polib

DESCRIPTION = "Compile and check navbat's translation catalogues without GNU gettext."
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "django"
# The interface's languages other than English, the language of the msgids.
REQUIRED_LANGUAGES = ("uz", "ru")

# One printf-style conversion as Python's % operator reads it: %(name)s, %s, %5.2f, %%.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
# The header fields gettext reads at run time; the dates and names in the header do not make a .mo stale.
RUNTIME_HEADERS = ("Language", "Content-Type", "Plural-Forms")
NPLURALS = re.compile(r"nplurals\s*=\s*(\d+)")

# What one translation looks like in a compiled catalogue: (context, msgid, msgid_plural, translations).
Message = tuple[str, str, str, tuple[str, ...]]


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return po_path(language, locale_dir).with_suffix(".mo")


def catalogue_languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every language that has a django.po, in a stable order."""
    return sorted(path.parent.parent.name for path in locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_catalogue(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """Write django.mo from django.po. Fuzzy and untranslated entries are left out, as msgfmt does."""
    target = mo_path(language, locale_dir)
    target.write_bytes(polib.pofile(str(po_path(language, locale_dir))).to_binary())
    return target


def placeholders(text: str) -> Counter[str]:
    return Counter(match for match in PLACEHOLDER.findall(text) if match != "%%")


def plural_count(catalogue: Any) -> int:
    """nplurals from the catalogue's Plural-Forms header; 2 (as in English) when it has none."""
    found = NPLURALS.search(catalogue.metadata.get("Plural-Forms", ""))
    return int(found.group(1)) if found else 2


def label(entry: Any) -> str:
    context = f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
    return f"{entry.msgid!r}{context}"


def translations(entry: Any) -> tuple[str, ...]:
    if entry.msgid_plural:
        return tuple(entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural))
    return (entry.msgstr,)


def entry_problem(entry: Any, nplurals: int) -> str | None:
    """What is wrong with one .po entry, or None when it is ready to ship."""
    if entry.fuzzy:
        return "fuzzy"
    forms = translations(entry)
    if not all(forms) or (entry.msgid_plural and len(forms) != nplurals):
        return "untranslated"
    expected = placeholders(entry.msgid_plural or entry.msgid)
    if any(placeholders(form) != expected for form in forms):
        return "placeholders differ from the msgid"
    return None


def messages(entries: Iterable[Any]) -> set[Message]:
    """Translations in a form that compares equal between a .po file's entries and a .mo file's."""
    return {
        (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "", translations(entry)) for entry in entries
    }


def runtime_headers(catalogue: Any) -> dict[str, str]:
    return {name: catalogue.metadata.get(name, "") for name in RUNTIME_HEADERS}


def stale_msgids(po: Any, mo_file: Path) -> list[str]:
    """msgids whose compiled translation is missing from, or different in, the .mo file."""
    compiled = polib.mofile(str(mo_file))
    expected = polib.mofile(po.to_binary())
    header = [] if runtime_headers(compiled) == runtime_headers(expected) else ["the header"]
    differing = messages(po.translated_entries()) ^ messages(compiled)
    return header + sorted({repr(msgid) for _context, msgid, _plural, _forms in differing})


def catalogue_problems(language: str, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every reason this language's catalogue is not ready, one line each; empty when it is."""
    source = po_path(language, locale_dir)
    if not source.exists():
        return [f"{language}: {source} is missing"]
    po = polib.pofile(str(source))
    found = [f"{language}: the header is marked fuzzy"] if po.metadata_is_fuzzy else []
    nplurals = plural_count(po)
    for entry in po:
        if not entry.obsolete and (problem := entry_problem(entry, nplurals)):
            found.append(f"{language}: {problem}: {label(entry)}")
    compiled = mo_path(language, locale_dir)
    if not compiled.exists():
        return [*found, f"{language}: {compiled} is missing"]
    found += [f"{language}: {compiled.name} is stale for {msgid}" for msgid in stale_msgids(po, compiled)]
    return found


def check(languages: Iterable[str], locale_dir: Path = LOCALE_DIR) -> list[str]:
    return [problem for language in languages for problem in catalogue_problems(language, locale_dir)]


def fill(source: Path, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Write the translations in `source` into the .po files; returns the msgids it found no entry for."""
    wanted: dict[str, dict[str, str | list[str]]] = json.loads(source.read_text(encoding="utf-8"))
    missing: set[str] = set()
    for language in catalogue_languages(locale_dir):
        path = po_path(language, locale_dir)
        po = polib.pofile(str(path))
        entries = {entry.msgid: entry for entry in po if not entry.obsolete}
        for msgid, translated in wanted.items():
            text = translated.get(language)
            if text is None:
                continue
            entry = entries.get(msgid)
            if entry is None:
                missing.add(msgid)
                continue
            if entry.msgid_plural:
                forms = [text] if isinstance(text, str) else text
                entry.msgstr_plural = dict(enumerate(forms))
            else:
                entry.msgstr = text if isinstance(text, str) else text[0]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
                entry.previous_msgid = None
                entry.previous_msgid_plural = None  # alone it is a syntax error for msgmerge
                entry.previous_msgctxt = None  # likewise
        po.save(str(path))
    return sorted(missing)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m navbat.i18n_tools", description=DESCRIPTION)
    parser.add_argument("command", choices=["compile", "check", "fill"])
    parser.add_argument("source", nargs="?", type=Path, help="for fill: the JSON file of translations")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR)
    args = parser.parse_args(argv)
    locale_dir: Path = args.locale_dir
    if args.command == "fill":
        if args.source is None:
            parser.error("fill needs the JSON file of translations")
        for msgid in fill(args.source, locale_dir):
            print(f"no entry for {msgid!r}: run makemessages first", file=sys.stderr)
        return 0
    if args.command == "compile":
        for language in catalogue_languages(locale_dir):
            print(f"compiled {compile_catalogue(language, locale_dir)}")
        return 0
    languages = sorted({*REQUIRED_LANGUAGES, *catalogue_languages(locale_dir)})
    problems = check(languages, locale_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); fix the .po files, then run `make messages`.", file=sys.stderr)
        return 1
    print(f"translations complete and compiled: {', '.join(languages)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
