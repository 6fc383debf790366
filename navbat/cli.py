"""The `navbat` console script: Django's management commands under one short name.

navbat demo | serve | worker | migrate | <any manage.py command>
"""

from __future__ import annotations

import os
import sys

# Short names for the commands clinic staff and operators use most (`worker` is navbat's own command).
ALIASES: dict[str, str] = {}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navbat.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
