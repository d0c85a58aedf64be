"""What a normalised math answer may NOT be paid for, and the forms compared by meaning rather than text.

`refusal` names why an answer is refused before any equality test: a hedge (two candidates: `3 or 4`, `3, 4`
for a scalar gold, `\\pm 3`, `3 \\vee 4`), a struck or negated value (`4̸`, `\\cancel{4}`, `\\neq 4`), NaN, an
inequality where a value is asked, words that change the value (`4 million`, `4 squared`, `at least 4`) or
prose. `as_interval` reads one-variable inequalities as intervals (`x > 3` is `(3,\\infty)`); `elements`
splits a set or a bare list so it can be compared as a set; `number_word` reads `four`, `twenty-one`.
What it does not do: decide equality (`math_answer` does) or find the answer (`math_extract`).
"""

from __future__ import annotations

import re

__all__ = ["refusal", "value_changing_tail", "as_interval", "elements", "as_list", "number_word", "is_relation"]

_VALUE_WORDS = frozenset("""
or and to through thru nor more less fewer greater smaller larger bigger higher lower plus minus times
divided squared cubed square cube root roots power powers factorial million millions billion billions
trillion thousand thousands hundred hundreds dozen dozens score half halves third thirds quarter quarters
fourth fourths fifth fifths sixth sixths seventh sevenths eighth eighths ninth ninths tenth tenths
hundredth hundredths thousandth thousandths k b bn mn mil not no maybe approximately approx about
roughly nearly almost around least most ish so x by except off percent guess perhaps probably possibly likely
unlikely unsure wrong incorrect false estimate estimated is are was were be
""".split())
_FUNCTION_WORDS = frozenset("sin cos tan cot sec csc log ln exp sqrt pi inf infty mod gcd lcm det max min "
                            "arcsin arccos arctan sinh cosh tanh".split())
_STRUCK = re.compile(r"[\u0334-\u0338\u20d2\u20e0\u20e5]|\\(?:not\b|cancel|bcancel|xcancel|sout|st\b|xout|stkout)")
_NEGATED = re.compile(r"\\(?:neq?|notin|nleq?|ngeq?|nless|ngtr|nsubseteq?|nequiv)\b|≠|∉|!=")
_INEQ = re.compile(r"\\(?:leq?|geq?|lt|gt|leqslant|geqslant)\b|[<>≤≥]")
_OTHER_REL = re.compile(r"\\(?:approx|sim|simeq|equiv|cong|propto|to|rightarrow|Rightarrow|implies|iff|lessapprox|gtrapprox"
                        r"|lesssim|gtrsim|approxeq|thickapprox|thicksim|backsim|eqsim|asymp|doteq|ll|gg|lll|ggg|prec|succ"
                        r"|preceq|succeq|nearrow|searrow|uparrow|downarrow)\b|[≈≃≅∼≲≳≪≫]"
                        r"|\^\s*\{?\s*[+-]\s*\}?(?!\s*[\d({\\a-zA-Z])")  # 7^+: a one-sided limit, not a value
_HEDGE = re.compile(r"\\(?:vee|lor|wedge|land|mp|pm|cup|cap|[lc]?dots)\b|±|∓|\bor\b|\band\b|\beither\b|;|\\\\|"
                    r"\?|\.\.\.|…|\d\s*(?:\||\\mid)\s*[-+]?\d")  # 7|8
_NAN = re.compile(r"(?i)\bnan\b|\\frac\{0\}\{0\}|(?<![\d.])0\s*/\s*0(?![\d.])|\\infty\s*-\s*\\infty")
_TWO_NUMBERS = re.compile(r"(?<![_^\d.])\d+(?:\.\d+)?\s+[-+]?\d")  # "3 4"; not "\\log_2 8"


def _top_level_comma(s: str) -> bool:
    depth = 0
    for i, c in enumerate(s):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0 and s[max(0, i - 1)] != "{":
            return True
    return False


def value_changing_tail(tail: str) -> bool:
    """True when words after a number change its value or hedge it (`or more`, `million`, `squared`).

    >>> value_changing_tail("apples"), value_changing_tail("or more"), value_changing_tail("cm^2")
    (False, True, False)
    """
    if re.search(r"(?<![\^{])\d", tail):  # a second number ("4 cm 5"); units' powers (cm^2) are fine
        return True
    return any(w.lower() in _VALUE_WORDS or w.lower() in _FUNCTION_WORDS for w in re.findall(r"[A-Za-z]+", tail))


def _prose(s: str) -> bool:
    """Words that are not math: two or more letters in a row outside LaTeX commands and function names."""
    bare = re.sub(r"\\[A-Za-z]+", " ", s)
    return any(w.lower() not in _FUNCTION_WORDS for w in re.findall(r"[A-Za-z]{2,}", bare))


def is_relation(s: str) -> bool:
    return bool(_INEQ.search(s) or _NEGATED.search(s) or _OTHER_REL.search(s) or "=" in s)


def refusal(pred: str, gold: str) -> str | None:
    """Why `pred` (normalised) cannot be paid against `gold` (normalised) whatever its value; None if it can.

    >>> refusal("3 \\\\vee 4", "4"), refusal("x \\\\geq 4", "4"), refusal("x > 3", "(3,\\\\infty)")
    ('hedge', 'relation', None)
    """
    if _NAN.search(pred):
        return "nan"
    if _STRUCK.search(pred):
        return "struck"
    if _NEGATED.search(pred) and not _NEGATED.search(gold):
        return "relation"
    hedge = _HEDGE.search(pred)
    if hedge and not (_HEDGE.search(gold) and hedge.group(0) in gold):
        return "hedge"
    if _TWO_NUMBERS.search(pred) and not _TWO_NUMBERS.search(gold):
        return "hedge"
    if _top_level_comma(pred) and not _top_level_comma(gold) and elements(gold) is None:
        return "hedge"
    if _OTHER_REL.search(pred) and not _OTHER_REL.search(gold):
        return "relation"
    if _INEQ.search(pred) and not _INEQ.search(gold) and as_interval(gold) is None:
        return "relation"
    if _prose(pred) and not _prose(gold):
        return "prose"
    return None


_VAR = r"[A-Za-z](?:_\{?\w+\}?)?"
_SIDE = r"((?:(?!\\(?:leqslant|geqslant|leq?|geq?|lt|gt)\b)[^<>=≤≥])+?)"
_OPS = {"<=": "<=", ">=": ">=", "<": "<", "\\lt": "<", ">": ">", "\\gt": ">", "\\le": "<=", "\\leq": "<=", "≤": "<=",
        "\\leqslant": "<=", "\\ge": ">=", "\\geq": ">=", "≥": ">=", "\\geqslant": ">="}
_OP = r"(\\leqslant|\\geqslant|\\leq|\\geq|\\le|\\ge|\\lt|\\gt|<=|>=|<|>|≤|≥)"
_ONE = re.compile(rf"^\s*{_VAR}\s*{_OP}\s*{_SIDE}\s*$")
_ONE_REV = re.compile(rf"^\s*{_SIDE}\s*{_OP}\s*{_VAR}\s*$")
_TWO = re.compile(rf"^\s*{_SIDE}\s*{_OP}\s*{_VAR}\s*{_OP}\s*{_SIDE}\s*$")
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def as_interval(s: str) -> str | None:
    """A one-variable inequality as interval notation; an interval as itself; else None.

    >>> as_interval("x > 3"), as_interval("-1 < x \\\\le 4"), as_interval("[0,\\\\infty)")
    ('(3,\\\\infty)', '(-1,4]', '[0,\\\\infty)')
    """
    t = s.strip()
    if re.fullmatch(r"[(\[][^,]+,[^,]+[)\]]", t.replace(" ", "")):
        return t.replace(" ", "")
    m = _TWO.match(t)
    if m:
        lo, op1, op2, hi = m.group(1).strip(), _OPS[m.group(2)], _OPS[m.group(3)], m.group(4).strip()
        if op1[0] == op2[0] == "<":
            return f"{'[' if op1 == '<=' else '('}{lo},{hi}{']' if op2 == '<=' else ')'}"
        if op1[0] == op2[0] == ">":
            return f"{'[' if op2 == '>=' else '('}{hi},{lo}{']' if op1 == '>=' else ')'}"
        return None
    m = _ONE.match(t)
    op, bound = (_OPS[m.group(1)], m.group(2).strip()) if m else (None, None)
    if m is None:
        m = _ONE_REV.match(t)
        if m is None:
            return None
        op, bound = _FLIP[_OPS[m.group(2)]], m.group(1).strip()
    if "\\infty" in bound:
        return None
    if op.startswith(">"):
        return f"{'[' if op == '>=' else '('}{bound},\\infty)"
    return f"(-\\infty,{bound}{']' if op == '<=' else ')'}"


def elements(s: str) -> list[str] | None:
    """The elements of a set `\\{a, b\\}` or of a bare list `a, b`; None for anything else (tuples, intervals).

    >>> elements("\\\\{1, 2\\\\}"), elements("3, 2"), elements("(1,2)")
    (['1', '2'], ['3', '2'], None)
    """
    t = s.strip()
    if t.startswith("\\{") and t.endswith("\\}"):
        t = t[2:-2]
    elif t[:1] in "([" or not _top_level_comma(t):
        return None
    parts, depth, cur = [], 0, []
    for c in t:
        depth += c in "([{"
        depth -= c in ")]}"
        if c == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur).strip())
    return parts if all(parts) else None


_LIST_SEP = re.compile(r"\s*(?:,|\bor\b|\band\b|\\quad|\\qquad)\s*")
_ASSIGN = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*")


def as_list(pred: str) -> str:
    """A list of solutions as the bare list `a, b`, for a gold that is a list or set: `x = \\pm 2` is `2, -2`,
    `x = 2 or x = -2` is `2, -2`. Anything else unchanged.

    >>> as_list("x = \\\\pm 2"), as_list("x = 2 or x = -2"), as_list("7")
    ('2, -2', '2, -2', '7')
    """
    t = _ASSIGN.sub("", pred.strip())
    m = re.fullmatch(r"(?:\\pm|±)\s*(.+)", t)
    if m and not _HEDGE.search(m.group(1)):
        return f"{m.group(1)}, -{m.group(1)}"
    parts = [_ASSIGN.sub("", p) for p in _LIST_SEP.split(t)]
    if len(parts) > 1 and all(parts) and t[:2] != "\\{":
        return ", ".join(parts)
    return pred


_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUE = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_NUMBER_WORDS = re.compile(
    r"(?i)^((?:(?:a|" + "|".join(_UNITS[1:10]) + r")\s+hundred(?:\s+and)?\s*)?(?:(?:" + "|".join(_TENS)
    + r")(?:[-\s](?:" + "|".join(_UNITS[1:10]) + r"))?|" + "|".join(_UNITS) + r")?)(?=\s|$|[.,])(.*)$", re.S)


def number_word(s: str) -> str:
    """A leading English number word (up to 999) as digits, the rest kept: 'four apples' -> '4 apples'.

    >>> number_word("Twenty-one"), number_word("one hundred and five"), number_word("fourteen million")
    ('21', '105', '14 million')
    """
    m = _NUMBER_WORDS.match(s.strip())
    if not m or not m.group(1).strip():
        return s
    words = re.split(r"[-\s]+", m.group(1).lower().replace(" and", ""))
    total = 0
    for w in words:
        if w == "hundred":
            total = max(total, 1) * 100
        elif w == "a":
            total += 1
        elif w:
            total += _WORD_VALUE[w]
    return (str(total) + m.group(2)).strip()
