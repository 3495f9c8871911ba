#!/usr/bin/env python3
"""Writes Tests/Fixtures/json/decimals.tsv: decimal texts as venues send them (Kalshi's
"0.6700", Coinbase's "0.00012345", Polygon's JSON numbers, exponents) with Python's exact
Decimal value scaled by 10^9, or "refused" where that is not an Int64 integer or the text is
no JSON-style decimal. Seeded; the reference for JSONScanner.decimal.

Usage: python3 tools/live/make_decimal_fixture.py > Tests/Fixtures/json/decimals.tsv
"""
import random, re
from decimal import Decimal, getcontext

getcontext().prec = 200
GRAMMAR = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
rng = random.Random(20261204)


def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def case():
    kind = rng.randrange(10)
    sign = "-" if rng.random() < 0.3 else ""
    if kind < 4:  # plain decimals, up to 12 fraction digits
        return sign + digits(rng.randint(1, 10)) + "." + digits(rng.randint(0, 12))
    if kind == 4:  # integers, some near Int64's edge once scaled
        return sign + digits(rng.randint(1, 20))
    if kind == 5:  # exponents
        return sign + digits(rng.randint(1, 4)) + "." + digits(rng.randint(0, 4)) + rng.choice("eE") + \
            rng.choice(["", "+", "-"]) + str(rng.randint(0, 12))
    if kind == 6:  # trailing zeros past 9 places (still exact)
        return sign + digits(rng.randint(1, 3)) + "." + digits(rng.randint(1, 9)) + "0" * rng.randint(1, 15)
    if kind == 7:  # long mantissas
        return sign + digits(rng.randint(15, 25)) + "." + digits(rng.randint(0, 5))
    if kind == 8:  # venue shapes
        return rng.choice(["0.6700", "24.64", "0.0001", "114.125", "0.00012345", "21921.73", "-54.00", "1", "0",
                           "-0", "0.000000001", "0.0000000001", "9223372036.854775807", "-9223372036.854775808",
                           "9223372036.854775808"])
    return rng.choice(["", "-", ".", "1.2.3", "+1", "NaN", "nan", "Infinity", "1e", "1e+", "--1", "1x", "0x10",
                       " 1", "1 ", ".5", "5.", "1e5.5"])


def expected(text):
    if not GRAMMAR.match(text):
        return "refused"
    v = Decimal(text) * (10 ** 9)
    if v != v.to_integral_value():
        return "refused"
    v = int(v)
    return str(v) if -(2 ** 63) <= v < 2 ** 63 else "refused"


seen = set()
print("# text\texpected (Decimal(text) * 10^9, exact) -- made by tools/live/make_decimal_fixture.py")
while len(seen) < 3000:
    t = case()
    if t in seen:
        continue
    seen.add(t)
    print(f"{t}\t{expected(t)}")
