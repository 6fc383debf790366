"""Russian: a day and a month take the month in the genitive — "1 марта" (Django's ru gives "1 Март")."""

MONTH_DAY_FORMAT = "j E"
