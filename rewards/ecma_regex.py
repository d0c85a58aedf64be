"""ECMA-262 regular expressions (JSON Schema `pattern`, `patternProperties`) run on Python's `re`.

JSON Schema says patterns are ECMA-262; `jsonschema` runs them with Python's `re.search`, which differs
where it matters for grading: Python's `$` also matches before a trailing newline (so "ABC\\n" passes
`^[A-Z]{3}$`), Python's `\\d` and `\\w` match any Unicode digit or letter (Arabic-Indic or full-width digits
pass `^\\d{5}$`), `.` matches `\\r` and U+2028/U+2029, and `\\s` matches U+001C..U+001F but not U+FEFF.
`to_python` rewrites a pattern so that `re.search` gives the ECMA-262 answer (the `u` flag's code-point
semantics, as JSON Schema recommends):

| ECMA-262                     | becomes in Python                                         |
|------------------------------|-----------------------------------------------------------|
| `$` (no multiline flag)      | `\\Z` (end of input only)                                  |
| `\\d \\D \\w \\W \\b \\B`          | ASCII-only, through the `(?a)` flag                        |
| `\\s`, `\\S`                   | the explicit ECMA WhiteSpace + LineTerminator set          |
| `.`                          | `[^\\n\\r\\u2028\\u2029]`                                     |
| `[^]`, `[]`                  | any character, no character                               |
| `(?<name>...)`, `\\k<name>`   | `(?P<name>...)`, `(?P=name)`                               |
| `\\u{1F600}`, `\\cJ`           | `\\U0001f600`, `\\x0a`                                       |

Not covered: `\\S` inside a character class keeps Python's ASCII `\\S` (U+00A0 etc. count as non-space
there); Unicode property escapes (`\\p{L}`) and other syntax Python's `re` lacks raise `re.error` (the
schema is refused, never silently misread); Python-only syntax (`(?P<...>)`, leading inline flags such as
`(?i)`, `\\Z`, possessive quantifiers) is passed through rather than rejected.
"""

from __future__ import annotations

import re

__all__ = ["to_python", "search"]

_WS = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_DOT = "[^\\n\\r\\u2028\\u2029]"
_CLASS_ESCAPED = set("[&|~")  # chars Python warns about (possible future set operations) inside a class


def _escape(p: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape at p[i] == "\\"; returns (python text, next index)."""
    c = p[i + 1] if i + 1 < len(p) else ""
    if c == "s":
        return (_WS if in_class else f"[{_WS}]"), i + 2
    if c == "S" and not in_class:
        return f"[^{_WS}]", i + 2
    if c == "u" and p.startswith("{", i + 2):
        close = p.find("}", i + 3)
        if close > 0 and re.fullmatch(r"[0-9a-fA-F]{1,6}", p[i + 3:close]):
            return f"\\U{int(p[i + 3:close], 16):08x}", close + 1
    if c == "c" and i + 2 < len(p) and p[i + 2].isascii() and p[i + 2].isalpha():
        return f"\\x{ord(p[i + 2]) % 32:02x}", i + 3
    if c == "k" and not in_class:
        m = re.match(r"<(\w+)>", p[i + 2:])
        if m:
            return f"(?P={m.group(1)})", i + 2 + m.end()
    if c == "":
        raise re.error("pattern ends with a backslash")
    return p[i:i + 2], i + 2


def _open_class(p: str, i: int) -> tuple[str, int] | None:
    """ECMA's empty classes, which Python reads differently: `[]` (nothing) and `[^]` (anything)."""
    if p.startswith("[]", i):
        return "(?!)", i + 2
    if p.startswith("[^]", i):
        return "(?s:.)", i + 3
    return None


def to_python(pattern: str) -> str:
    """A Python `re` pattern that `re.search`es like the ECMA-262 `pattern` does.

    >>> to_python("^[A-Z]{3}$")
    '(?a)^[A-Z]{3}\\\\Z'
    >>> bool(re.search(to_python("^[A-Z]{3}$"), "ABC\\n")), bool(re.search(to_python(r"^\\d+$"), "١٢"))
    (False, False)
    """
    flags = re.match(r"\(\?([aiLmsux]+)\)", pattern)  # Python-only leading flags: merged, not refused
    extra = "".join(sorted(set(flags.group(1)) - set("aLu"))) if flags else ""
    out, i, in_class, class_start = [], flags.end() if flags else 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            text, i = _escape(pattern, i, in_class)
            out.append(text)
            continue
        if in_class:
            if c == "]" and i > class_start:
                in_class = False
                out.append(c)
            else:
                doubled_dash = c == "-" and pattern.startswith("--", i)
                out.append("\\" + c if c in _CLASS_ESCAPED or doubled_dash else c)
            i += 1
            continue
        if c == "[":
            empty = _open_class(pattern, i)
            if empty:
                out.append(empty[0])
                i = empty[1]
                continue
            in_class = True
            negated = pattern.startswith("[^", i)
            out.append("[^" if negated else "[")
            i += 2 if negated else 1
            class_start = i
            continue
        if c == "(" and pattern.startswith("(?<", i) and i + 3 < len(pattern) and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append({"$": "$" if "m" in extra else "\\Z", ".": _DOT}.get(c, c))
        i += 1
    return f"(?a{extra})" + "".join(out)


def search(pattern: str, text: str) -> bool:
    """ECMA-262 `pattern.test(text)`.

    >>> search("^.+$", "a\\u2028b"), search("^a\\\\sb$", "a\\xa0b")
    (False, True)
    """
    return re.search(to_python(pattern), text) is not None
