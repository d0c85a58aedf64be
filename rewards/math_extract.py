"""Find the final answer in a math completion and normalise answer text; no sympy here.

Extraction order: the last `\\boxed{}`/`\\fbox{}`, the last "answer is"/"Answer:", the last `#### x`, then
(optionally) the last number. Normalisation strips what decorates a value without changing it: `$`, `\\text`
wrappers, currency, thousands separators, trailing unit words, `x =`; it records a percent sign rather than
dropping it. Everything here is linear-time regex/string work, so a megabyte of text is still fast.
What it does not do: decide equality (see `math_answer`).
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["extract_answer", "normalize", "as_number", "choice_letter", "is_safe"]

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_IS = re.compile(
    r"(?i)(?:final\s+answer|answer)\s*(?:\*\*)?\s*(?:is|:|=|should\s+be|would\s+be|will\s+be)(?:\s*:)?(?:\*\*)?[ \t]*")
_HASHES = re.compile(r"####\s*([^\n]+)")
_NUMBER = re.compile(
    r"(?:-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*/\s*\d+)?)(?:\s*\\?%)?")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n|;\s")


def _braced(text: str, start: int) -> str | None:
    """The content of the brace group opening at text[start - 1] == '{', or None if unbalanced."""
    depth = 1
    for j in range(start, len(text)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start:j]
    return None


def _last_boxed(text: str) -> str | None:
    """Content of the last balanced `\\boxed{...}`; one linear pass even for many unbalanced ones."""
    starts = [m.end() for m in _BOX.finditer(text)]
    if not starts:
        return None
    got = _braced(text, starts[-1])
    if got is not None or len(starts) == 1:
        return got
    closing: dict[int, int] = {}
    stack: list[int] = []
    for j in range(starts[0] - 1, len(text)):
        c = text[j]
        if c == "{":
            stack.append(j)
        elif c == "}" and stack:
            closing[stack.pop()] = j
    for start in reversed(starts):
        end = closing.get(start - 1)
        if end is not None:
            return text[start:end]
    return None


def _after_answer_is(text: str) -> str | None:
    last = None
    for last in _ANSWER_IS.finditer(text):  # noqa: B007 - we want the last match
        pass
    if last is None:
        return None
    rest = text[last.end():last.end() + 500].lstrip()
    if rest.startswith("$"):
        end = rest.find("$", 1)
        if end > 0:
            return rest[1:end]
    boxed = _last_boxed(rest[:200])
    if boxed is not None and rest.lstrip("$\\(").startswith(("\\boxed", "\\fbox")):
        return boxed
    cut = _SENTENCE_END.search(rest)
    rest = rest[:cut.start()] if cut else rest
    return rest.strip() or None


def extract_answer(text: str, last_number: bool = True) -> tuple[str | None, str]:
    """(answer text or None, how it was found).

    >>> extract_answer("7*8 = 56 ... The final answer is 56.")
    ('56', 'answer_is')
    >>> extract_answer("so $x = \\\\boxed{\\\\frac{1}{2}}$")
    ('\\\\frac{1}{2}', 'boxed')
    """
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed, "boxed"
    said = _after_answer_is(text)
    if said is not None:
        return said, "answer_is"
    hashes = _HASHES.findall(text)
    if hashes:
        return hashes[-1].strip(), "hashes"
    if last_number:
        nums = _NUMBER.findall(text[-5000:])
        if nums:
            return nums[-1], "last_number"
    return None, "none"


_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox|textit|operatorname)\s*\{([^{}]*)\}")
_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad|~|\\left|\\right|\\displaystyle|\\dfrac|\\tfrac")
_CURRENCY = re.compile(r"\\\$|\$|€|£|¥|\bUSD\b|\bdollars?\b|\beuros?\b|\bcents?\b", re.I)
_PERCENT = re.compile(r"\\%|%|\s*\bpercent\b|\s*\\text\{\s*percent\s*\}", re.I)
_DEGREES = re.compile(r"\^\s*\{?\\circ\}?|°|\s*\bdegrees?\b", re.I)
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3}(?:(?:,|\{,\})\d{3})+)(?![\d,])")
_TRAILING_WORDS = re.compile(r"^([-+]?\d[\d.,/]*(?:\s*[eE][-+]?\d+)?)\s+[A-Za-z][A-Za-z .^\d/]*$")
_LHS = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?!=)")
_SCI = re.compile(r"^([-+]?\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|×|\*|x)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?$")


def normalize(ans: str) -> tuple[str, bool]:
    """(cleaned answer, had a percent sign).

    >>> normalize("\\\\$1,234.50")
    ('1234.50', False)
    >>> normalize("x = 12\\\\%")
    ('12', True)
    """
    s = ans.strip()
    s = s.strip("$").removeprefix("\\(").removesuffix("\\)").removeprefix("\\[").removesuffix("\\]")
    s = _SPACING.sub(lambda m: "\\frac" if m.group(0) in ("\\dfrac", "\\tfrac") else " ", s)
    for _ in range(3):
        s = _WRAPPERS.sub(r"\1", s)
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub("", s)
    s = _DEGREES.sub("", s)
    s = _CURRENCY.sub("", s)
    s = s.strip().rstrip(".,;:").strip()
    if s.count("=") == 1 and _LHS.match(s):
        s = _LHS.sub("", s, count=1)
    s = _THOUSANDS.sub(lambda m: m.group(1).replace("{,}", "").replace(",", ""), s)
    m = _TRAILING_WORDS.match(s)
    if m:
        s = m.group(1)
    return " ".join(s.split()), percent


_FRAC = re.compile(r"^([-+])?\\frac\{(-?\d+)\}\{(-?\d+)\}$|^([-+])?\\frac(\d)(\d)$")
_PLAIN = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_RATIO = re.compile(r"^([-+]?\d+)\s*/\s*([-+]?\d+)$")


def as_number(s: str) -> Fraction | None:
    """An exact rational for plain numbers, `a/b`, `\\frac{a}{b}` and `a \\times 10^{n}`; else None.

    >>> as_number("12345678901234567890123") == 12345678901234567890123
    True
    """
    if len(s) > 5000:
        return None
    try:
        if _PLAIN.match(s):
            return Fraction(s)
        m = _RATIO.match(s)
        if m and int(m.group(2)) != 0:
            return Fraction(int(m.group(1)), int(m.group(2)))
        m = _FRAC.match(s)
        if m:
            sign, num, den = (m.group(1), m.group(2), m.group(3)) if m.group(2) else m.group(4, 5, 6)
            if int(den) != 0:
                return Fraction(int(num), int(den)) * (-1 if sign == "-" else 1)
        m = _SCI.match(s)
        if m and abs(int(m.group(2))) <= 400:
            return Fraction(m.group(1)) * Fraction(10) ** int(m.group(2))
    except (ValueError, ZeroDivisionError):
        return None
    return None


_CHOICE = re.compile(r"^\(?([A-E])\)?(?:[.:)]|\s|$)")
_CHOICE_ANYWHERE = re.compile(r"\(([A-E])\)")


def choice_letter(text: str, extracted: str | None) -> str | None:
    """The multiple-choice letter a completion picked: from its extracted answer, else the last "(X)"."""
    for cand in (extracted, text.strip()):
        if cand is not None:
            m = _CHOICE.match(normalize(cand)[0])
            if m:
                return m.group(1)
    found = _CHOICE_ANYWHERE.findall(text[-2000:])
    return found[-1] if found else None


_EXPONENT = re.compile(r"(?:\^|\*\*)\s*\{?\s*\(?\s*(\d+)")
_FACTORIAL = re.compile(r"(\d+)\s*!")


def is_safe(s: str, max_len: int = 600, max_exponent: int = 2000, max_depth: int = 12) -> bool:
    """Cheap screen before sympy: no exponent towers or huge powers/factorials, bounded length and nesting.

    >>> is_safe("2^{2^{2^{2^{2}}}}"), is_safe("\\\\frac{\\\\sqrt{2}}{2}")
    (False, True)
    """
    if len(s) > max_len or s.count("^") + s.count("**") > 8:
        return False
    for m in _EXPONENT.finditer(s):
        if int(m.group(1)) > max_exponent:
            return False
    for m in re.finditer(r"\^\s*\{", s):  # a power inside an exponent: a tower
        inner = _braced_prefix(s, m.end())
        if "^" in inner or "**" in inner or "!" in inner:
            return False
    if re.search(r"\*\*[^*]*\*\*", s.replace(" ", "")) and s.count("**") > 1:
        return False
    if any(int(n) > 300 for n in _FACTORIAL.findall(s)) or s.count("!") > 3:
        return False
    depth = best = 0
    for c in s:
        depth += c in "({["
        depth -= c in ")}]"
        best = max(best, depth)
    return best <= max_depth


def _braced_prefix(s: str, start: int) -> str:
    depth = 1
    for j in range(start, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[start:j]
    return s[start:]
