#!/usr/bin/env python3
"""Makes Tests/Fixtures/toml/cases.jsonl: TOML documents with what Python's tomllib reads
from them, for TOMLTests to hold HotPath's own parser (Sources/HotPath/Pipeline/TOML.swift)
to.

    python3 scripts/toml_cases.py > Tests/Fixtures/toml/cases.jsonl
    python3 scripts/toml_cases.py DIR... > /tmp/big.jsonl   # every file in DIRs instead of the sample

The committed inputs: the cases below, the config and budgets fuzz seeds and regressions, and
Tests/Fixtures/toml/corpus: 200 documents tomllib reads and 150 it refuses (at most 1.5 KB
each, the first by SHA-1 of the config and budgets fuzz corpora of 2026-12-05).

Each line: {"b64": the document's bytes, "expect": the value, or null for a refusal, or
"skip"}. A value is tagged as toml-test tags it: tables are objects, arrays are lists, and a
scalar is {"type": ..., "value": ...} (a float's value is repr(), a date's or time's only
its type). The parser's deliberate differences become expectations: a leading byte-order mark
is skipped; an integer outside 64 bits is refused; a document nesting deeper than 64 is
"skip" (the parser refuses past 64 nested arrays, inline tables or dotted-key parts).
"""
import base64
import datetime
import json
import os
import sys
import tomllib

CASES = [
    # values
    'a = 1\nb = -0\nc = +17\nd = 1_000\ne = 0xDEAD_beef\nf = 0o755\ng = 0b1101\n',
    'a = 9223372036854775807\nb = -9223372036854775808\n',
    'a = 9223372036854775808\n', 'a = -9223372036854775809\n', 'a = 0x8000000000000000\n',
    'a = 1.0\nb = -3.5e-7\nc = 6E+23\nd = 1e1_0\ne = 224_617.445_991\nf = inf\ng = -inf\nh = +nan\ni = 0.1\n',
    'a = 1.\n', 'a = .5\n', 'a = 1e\n', 'a = 1__0\n', 'a = _1\n', 'a = 1_\n', 'a = 01\n', 'a = 0x\n',
    'a = +0x1\n', 'a = 0X1\n', 'a = 1.5.\n', 'a = infinity\n', 'a = Nan\n', 'a = 00.5\n', 'a = -0.0\n',
    'a = true\nb = false\n', 'a = True\n', 'a = truex\n',
    # strings
    'a = "tab\\there \\"q\\" \\\\ \\u00e9 \\U0001F600 \\b\\f\\r\\n"\n', 'a = "\\x41"\n', 'a = "\\e"\n',
    'a = "\\uD800"\n', 'a = "\\u12"\n', 'a = "\\U00110000"\n', 'a = "unclosed\n', 'a = "a\tb"\n',
    'a = "nul\x00"\n', 'a = "del\x7f"\n', "a = 'literal \\n stays'\n", "a = 'open\n",
    'a = """\nfirst\nsecond"""\n', 'a = """one \\\n    two \\\n\n  three"""\n', 'a = """x \\  \n  y"""\n',
    'a = """x \\ y"""\n', 'a = """q""""\n', 'a = """q"""""\n', 'a = """q""""""\n', 'a = """ "" """\n',
    "a = '''\nraw \\n\nlines'''\n", "a = '''x''''\n", "a = '''x'''''\n", "a = '''x''''''\n",
    'a = """\r\nwindows\r\nlines"""\r\n', 'a = 1\r\n', 'a = 1\rb = 2\n', 'a = "é ü 中"\n', '"é" = 1\n',
    # keys
    'a.b.c = 1\na.b.d = 2\n', 'a . b = 1\n', '"a.b" = 1\n\'c d\' = 2\n"" = 3\n', 'a = 1\na = 2\n',
    'a = 1\na.b = 2\n', 'a.b = 1\na = 2\n', '1234 = 5\n', 'a-b_c = 1\n', 'a b = 1\n', '= 1\n', 'a =\n',
    'a = 1 b = 2\n', 'a = 1 # comment\n', '# only a comment', 'a = 1 # bad \x01 comment\n', '\n\n  \t\n',
    'a.b = 1\n[a]\nc = 2\n', '[a]\nb.c = 1\n[a.b]\nd = 2\n', '[a.b]\nc = 1\n[a]\nb.d = 2\n',
    '[a]\nb.c.d = 1\n[a.b.c]\n', '[a]\nx.y = 1\n[b]\n[a.x]\n',
    # tables
    '[a]\n[b]\n[a.c]\n', '[a]\n[a]\n', '[a.b]\n[a]\n', '[a]\n[a.b]\n[a.b]\n', '[ a . "b c" ]\nx = 1\n',
    '[]\n', '[a\n', '[a]x\n', '[a] # c\n', '[[a]]\n[[a]]\nb = 1\n', '[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2\n',
    '[[a.b]]\n[a]\nc = 1\n', '[a]\n[[a]]\n', '[[a]]\n[a]\n', 'a = []\n[[a]]\n', 'a = [{}]\n[[a]]\n',
    'a = {}\n[a.b]\n', 'a = {b = 1}\na.c = 2\n', 'a = [1]\n[a.b]\n', '[ [a]]\n', '[[a] ]\n', '[[a]\n',
    '[[fruit]]\nname = "apple"\n[fruit.physical]\ncolor = "red"\n[[fruit.variety]]\nname = "red delicious"\n'
    '[[fruit]]\nname = "banana"\n[[fruit.variety]]\nname = "plantain"\n',
    # inline tables and arrays
    'a = {b = 1, c = "x", d = {e = [1, 2]}}\n', 'a = {b = 1,}\n', 'a = {b = 1\n}\n', 'a = { }\n',
    'a = {b.c = 1, b.d = 2}\n', 'a = {b = {c = 1}, b.d = 2}\n', 'a = {b = 1, b = 2}\n', 'a = {b = [1], b.c = 2}\n',
    'a = [1, "two", 3.0, [4], {five = 5}]\n', 'a = [\n  1, # one\n  2,\n]\n', 'a = [,]\n', 'a = [1,,2]\n',
    'a = [1 2]\n', 'a = [\n', 'a = [[[]]]\n', 'a = {b = [}\n', 'a = [1, }]\n', 'a = [[\x85]]\n',
    # dates and times
    'a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00.999999-07:00\nc = 1979-05-27 07:32:00\n'
    'd = 1979-05-27\ne = 07:32:00\nf = 00:32:00.5\ng = 1979-05-27t07:32:00z\n',
    'a = 1979-02-29\n', 'a = 2000-02-29\n', 'a = 1900-02-29\n', 'a = 1979-13-01\n', 'a = 1979-04-31\n',
    'a = 0000-01-01\n', 'a = 1979-05-27T24:00:00\n', 'a = 1979-05-27 07:32\n', 'a = 07:32\n',
    'a = 1979-05-27T07:32:60\n', 'a = 1979-05-27T07:32:00+24:00\n', 'a = 1979-05-27T07:32:00.\n',
    'a = 1979-05-27 x\n', 'x =2003-03-r= 5\n', 'eco= 4326-05-20tail\n', 'a = [1979-05-27, 2003-03-01]\n',
    # the shapes toml++ aborted on (fuzz regressions)
    '[+]\nx = 1\n', '[ é]\n', '[[é]]\n', "s = '[x'\n[=]\n", '\ufeff[+]\n', '\ufeffa = 1\n',
    # the engine's own files' shapes
    '[engine]\nbatch = 64\n\n[risk]\nmax_position = 3\nthreshold = 0.25\n\n[[regimes.states]]\nname = "calm"\n',
]


def tagged(v):
    if isinstance(v, dict):
        return {k: tagged(x) for k, x in v.items()}
    if isinstance(v, list):
        return [tagged(x) for x in v]
    if isinstance(v, bool):
        return {"type": "bool", "value": "true" if v else "false"}
    if isinstance(v, int):
        if not -(1 << 63) <= v < (1 << 63):
            raise OverflowError
        return {"type": "integer", "value": str(v)}
    if isinstance(v, float):
        return {"type": "float", "value": repr(v)}
    if isinstance(v, str):
        return {"type": "string", "value": v}
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return {"type": "datetime"}
    raise TypeError(type(v))


def depth(v):
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    return 0


def expect(data):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        value = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if depth(value) > 64:
        return "skip"
    try:
        return tagged(value)
    except OverflowError:
        return None


def main():
    docs = [c.encode() for c in CASES]
    dirs = sys.argv[1:]
    if not dirs:
        root = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
        dirs = [os.path.join(root, "fuzz", t) for t in ("config", "budgets")]
        dirs += [os.path.join(root, "fuzz-regressions", t) for t in ("config", "budgets")]
        dirs += [os.path.join(root, "toml", "corpus")]
    for d in dirs:
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                docs.append(f.read())
    for doc in docs:
        line = {"b64": base64.b64encode(doc).decode(), "expect": expect(doc)}
        print(json.dumps(line, ensure_ascii=True))


main()
