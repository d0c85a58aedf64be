"""Normalise a found math answer's text and read it as an exact number; no sympy here.

Normalisation strips what decorates a value without changing it: `$`, `\\text` wrappers, currency,
thousands separators, unit words that cannot change the value, `x =`, number words; it records a percent
sign rather than dropping it. `as_number` reads plain, fractional, scientific and +-*/ arithmetic text
exactly (a `Fraction`), `choice_letter` a multiple-choice letter, and `is_safe` refuses text too big for sympy.
What it does not do: find the answer in a completion (`math_extract`) or decide equality (`math_answer`).
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction

from .math_policy import number_word, value_changing_tail

__all__ = ["normalize", "as_number", "choice_letter", "is_safe"]


_WRAPPERS = re.compile(r"\\(?:text|textbf|textrm|textsf|texttt|mathrm|mathbf|mathsf|mathit|mbox|textit|operatorname"
                       r"|boldsymbol|bm|smash)\s*\{([^{}]*)\}")
_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad|~|\\left|\\right|\\displaystyle|\\dfrac|\\tfrac|"
                      r"\\(?:tiny|scriptsize|footnotesize|small|normalsize|large|Large|LARGE|huge|Huge)\b")
_CURRENCY = re.compile(r"\\\$|\$|€|£|¥|\bUSD\b|\bdollars?\b|\beuros?\b|\bcents?\b", re.I)
_PERCENT = re.compile(r"\\%|%|\s*\bpercent\b|\s*\\text\{\s*percent\s*\}", re.I)
_DEGREES = re.compile(r"(?:\^\s*\{?\\circ\}?|°|\\degree\b)(?:\s*[CFK](?![A-Za-z]))?|\s*\bdegrees?\b(?:\s+(?:Celsius|Fahrenheit|Kelvin)\b)?"
                      r"|(?<=\d)\s*\^\s*\{\s*(?:st|nd|rd|th)\s*\}", re.I)  # 90^\circ C, 12^{th}: a unit, an ordinal
_REPEATING = re.compile(r"(?<![\d.])(-?)(\d*)\.(\d*)\\overline\s*\{(\d{1,50})\}")  # 0.1\overline{6} is 1/6
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3}(?:(?:,|\{,\})\d{3})+)(?![\d,])")
_TRAILING_WORDS = re.compile(r"^([-+]?\d[\d.,/]*(?:\s*[eE][-+]?\d+)?)\s*([A-Za-z][A-Za-z .^{}\d/]*)$")
_THIN_THOUSANDS = re.compile(r"(?<=\d)(?:\\[,!: ]|,\\!|\{,\}\\!)(?=\d{3}(?!\d))")
_EMPTY_SET = re.compile(r"\\varnothing\b|\\emptyset\b|\u2205|\\\{\s*\\\}")  # one spelling of the empty set
_LHS = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?!=)")
_SCI = re.compile(r"^([-+]?\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|×|\*|x)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?$")


def normalize(ans: str) -> tuple[str, bool]:
    """(cleaned answer, had a percent sign).

    >>> normalize("\\\\$1,234.50")
    ('1234.50', False)
    >>> normalize("x = 12\\\\%")
    ('12', True)
    >>> normalize("4 or more")[0], normalize("Four apples")[0]
    ('4 or more', '4')
    """
    s = ans.replace("\u2212", "-").strip().strip("*").strip()
    s = s.strip("$").removeprefix("\\(").removesuffix("\\)").removeprefix("\\[").removesuffix("\\]")
    s = _THIN_THOUSANDS.sub("", s)
    s = _SPACING.sub(lambda m: "\\frac" if m.group(0) in ("\\dfrac", "\\tfrac") else " ", s)
    if "overline" in s:
        s = _REPEATING.sub(_repeating, s)
    for _ in range(3):
        s = _WRAPPERS.sub(r"\1", s)
    s = _EMPTY_SET.sub(r"\\emptyset", s)
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub("", s)
    s = _DEGREES.sub("", s)
    s = _CURRENCY.sub("", s)
    s = s.strip().rstrip(".,;:").strip()
    if s.count("=") == 1 and _LHS.match(s):
        s = _LHS.sub("", s, count=1)
    s = number_word(s)
    s = _THOUSANDS.sub(lambda m: m.group(1).replace("{,}", "").replace(",", ""), s)
    m = _TRAILING_WORDS.match(s)
    if m and not value_changing_tail(m.group(2)) and (len(m.group(2)) > 1 or s[len(m.group(1))] == " "):
        s = m.group(1)  # "45 minutes", "12cm" -> the number; "4x" is algebra, not a unit
    return " ".join(s.split()), percent


def _repeating(m: re.Match) -> str:
    """`a.b\\overline{c}` (c repeating for ever) as the exact fraction it is."""
    sign, whole, fixed, rep = m.group(1), m.group(2) or "0", m.group(3), m.group(4)
    value = Fraction(int(whole + fixed + rep) - int(whole + fixed), 10 ** len(fixed) * (10 ** len(rep) - 1))
    return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"


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
        if _ARITH.match(s) and len(s) <= 120:
            return _evaluate(ast.parse(s.replace("\\times", "*").replace("\\cdot", "*"), mode="eval").body)
    except (ValueError, ZeroDivisionError, SyntaxError, RecursionError):
        return None
    return None


_ARITH = re.compile(r"^[-+(]*\d[\d.\s()+\-*/]*$|^[\d.\s()+\-]*(?:\\times|\\cdot)[\d.\s()+\-]*$")
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b}


def _evaluate(node: ast.AST) -> Fraction | None:
    """Exact value of + - * / arithmetic on decimals (`1 - 0.9` is 1/10, not 0.09999999999999998)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return Fraction(ast.unparse(node))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _evaluate(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        return None if left is None or right is None else _BINOPS[type(node.op)](left, right)
    return None


_CHOICE = re.compile(r"\(?([A-E])\)?[.:]?")
_CHOICE_WITH_TEXT = re.compile(r"\(?([A-E])[).:]\s+\S.*", re.S)
_LONE_LETTER = re.compile(r"(?<![A-Za-z\\])[A-E](?![A-Za-z])")


def choice_letter(text: str, extracted: str | None) -> tuple[str | None, bool]:
    """(the multiple-choice letter a completion stated, whether it named several letters).

    Only a clear statement counts: the extracted answer is a letter (`B`, `(B)`, `B.`) or a letter with its
    option text (`B) 12 meters`), or the whole completion is a letter. Never the first capital of a sentence.

    >>> choice_letter("", "(B)"), choice_letter("", "A or B"), choice_letter("A bit of thought", None)
    (('B', False), (None, True), (None, False))
    """
    for cand in (extracted, text.strip() if len(text.strip()) <= 6 else None):
        if cand is None:
            continue
        n = normalize(cand)[0].strip("*").strip()
        if len(set(_LONE_LETTER.findall(n))) > 1:
            return None, True
        m = _CHOICE.fullmatch(n) or _CHOICE_WITH_TEXT.fullmatch(n)
        if m:
            return m.group(1), False
    return None, False


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
    if any(int(n) > 300 for n in _FACTORIAL.findall(s)) or s.count("!") > 3 or _big_factorial_of_group(s):
        return False
    depth = best = 0
    for c in s:
        depth += c in "({["
        depth -= c in ")}]"
        best = max(best, depth)
    return best <= max_depth


def _big_factorial_of_group(s: str) -> bool:
    """A factorial of a bracketed group that may be huge: `(10^{100})!`, `{(2000)}!` (a power or 4+ digits)."""
    for m in re.finditer(r"[)}\]]\s*!", s):
        depth, j = 0, m.start()
        while j >= 0:
            depth += s[j] in ")}]"
            depth -= s[j] in "({["
            if depth == 0:
                break
            j -= 1
        if re.search(r"\^|\*\*|!|\d{4}", s[max(j, 0):m.start()]):
            return True
    return False


def _braced_prefix(s: str, start: int) -> str:
    depth = 1
    for j in range(start, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[start:j]
    return s[start:]
