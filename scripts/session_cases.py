#!/usr/bin/env python3
"""Session-clock cases from Python's zoneinfo, for SessionCalendarTests.

    python3 scripts/session_cases.py > Tests/Fixtures/session/cases.csv

Each row: zone, open, close, UTC time in ns, and the minutes since the open and to the close
at that instant's local wall-clock time (empty on a closed day: Saturday, Sunday, 2025-07-04,
2026-12-25). The times are spread over 2024-2030 and cluster round each offset change.
"""
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SESSIONS = [("America/New_York", "09:30", "16:00"), ("Europe/London", "08:00", "16:30"),
            ("Asia/Tokyo", "09:00", "15:00"), ("Australia/Sydney", "10:00", "16:00")]
HOLIDAYS = {"2025-07-04", "2026-12-25"}
rng = random.Random(7)
print("zone,open,close,utc_ns,since_open,to_close")
for zone, open_, close in SESSIONS:
    tz = ZoneInfo(zone)
    start = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp())
    end = int(datetime(2030, 12, 31, tzinfo=timezone.utc).timestamp())
    seconds = [rng.randrange(start, end) for _ in range(400)]
    # Round each offset change: find them hour by hour, then add times within 2 h of each.
    previous = None
    for s in range(start, end, 3600):
        off = datetime.fromtimestamp(s, tz).utcoffset()
        if previous is not None and off != previous:
            seconds += [s + rng.randrange(-7200, 7200) for _ in range(20)]
        previous = off
    for s in sorted(seconds):
        frac = rng.randrange(0, 10**9)
        local = datetime.fromtimestamp(s, tz)
        ns = s * 10**9 + frac
        if local.weekday() >= 5 or local.strftime("%Y-%m-%d") in HOLIDAYS:
            print(f"{zone},{open_},{close},{ns},,")
            continue
        ns_of_day = (local.hour * 3600 + local.minute * 60 + local.second) * 10**9 + frac
        minute = ns_of_day / 60e9
        o = int(open_[:2]) * 60 + int(open_[3:])
        c = int(close[:2]) * 60 + int(close[3:])
        print(f"{zone},{open_},{close},{ns},{float(minute - o)!r},{float(c - minute)!r}")
