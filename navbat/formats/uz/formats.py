"""Uzbek (Latin) dates as Uzbek writes them: year first, the month in lower case — "2027-yil 1-mart"."""

DATE_FORMAT = r"Y-\y\i\l j-E"
DATETIME_FORMAT = r"Y-\y\i\l j-E, G:i"
MONTH_DAY_FORMAT = "j-E"
YEAR_MONTH_FORMAT = r"Y-\y\i\l E"
