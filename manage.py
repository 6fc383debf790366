#!/usr/bin/env python
"""Django's manage.py; the `navbat` console script does the same."""

from navbat.cli import main

if __name__ == "__main__":
    main()
