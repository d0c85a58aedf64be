"""Find the final answer in a math completion and normalise answer text; no sympy here.

`final_answer` reads the completion as a reader sees it (`final_text.answer_region`: outside `<think>`,
without comments or phantoms), drops quotations that hold an answer cue (the question's words), and takes
the LAST statement: a `\\boxed{}`/`\\fbox{}`, "answer is"/"Answer:"/"correct option is", or `#### x`. A last box
that never closes, or later text that takes the answer back ("wait", "that is wrong"), leaves no answer;
earlier boxes never corrected are returned as `standing` (the verifier calls them a hedge if they differ).
With no statement at all, a bare last number counts only in a last clause with nothing doubtful around it.
Normalisation strips what decorates a value without changing it: `$`, `\\text` wrappers, currency,
thousands separators, unit words that cannot change the value, `x =`, number words; it records a percent
sign rather than dropping it. Everything here is linear-time regex/string work, so a megabyte is still fast.
What it does not do: decide equality or refusals (see `math_answer`, `math_policy`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction

from .final_text import answer_region
from .math_policy import is_relation, number_word, value_changing_tail

__all__ = ["Extraction", "final_answer", "extract_answer", "last_box", "normalize", "as_number", "choice_letter",
           "is_safe"]

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_IS = re.compile(
    r"(?i)(?:final\s+answer|answer|correct\s+(?:option|choice)|the\s+(?:option|choice))\s*(?:\*\*)?\s*"
    r"(?:is|:|=|should\s+be|would\s+be|will\s+be)(?:\s*:)?(?:\*\*)?[ \t]*")
_HASHES = re.compile(r"####\s*([^\n]+)")
_NUMBER = re.compile(
    r"(?:-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*/\s*\d+)?)(?:\s*\\?%)?")
_OVERLAYS = "\u0334\u0335\u0336\u0337\u0338\u20d2\u20e0\u20e5"
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n|;\s")
# words after a committed answer that take it back ("wait", "that is wrong", "let me re-check")
_RETRACT = re.compile(
    r"(?i)\b(?:wait|actually|hmm+|oops|mistake|wrong|incorrect|not\s+(?:right|correct|sure)|unsure|"
    r"scratch\s+that|retract|reconsider|redo|on\s+second\s+thought|let\s+me\s+(?:re-?|double[- ]?)(?:check|think|"
    r"consider|do|calculate|compute|evaluate|examine|verify)|uncertain|not\s+(?:(?:entirely|completely|totally|fully|100%)\s+)?"
    r"(?:certain|confident|positive)|(?:may|might|could)\s+(?:well\s+)?have\s+(?:made|gotten|got|mis\w+|erred|slipped)|"
    r"give\s+or\s+take|more\s+or\s+less|or\s+so\b|or\s+thereabouts|no\s*,|ignore\s+(?:that|this|the\s+above)|kidding|joking|"
    r"not\s+(?:the\s+)?(?:answer|it|valid|possible)\b|(?:is|was)n't\s+(?:the\s+)?(?:answer|right|correct)|"
    r"(?<=\()(?:approx(?:\.|imately)?|roughly|estimated?|about)\s*\.?\s*\)|alternatively|also\s+(?:works|possible|valid|correct)|(?:could|might|may)\s+(?:also\s+)?be|or\s+possibly|"
    r"another\s+(?:answer|solution|possibility|candidate)|unless|guess(?:ing|ed)?|probabl[ey]|presumably|"
    r"if\s+I'?m\s+(?:not\s+)?(?:right|correct|mistaken)|however|disagree|likely|plausible|\bbut\s+(?:it'?s\s+|it\s+is\s+)?-?\d|"
    r"(?:correct|right|true|actual|real)\s+(?:answer|value|result|number|solution))")
# between two boxes, words that say the first was a false start ("but then correct it:")
_CORRECTION = re.compile(
    _RETRACT.pattern + r"|(?i:\b(?:correct(?:ed|ing|ion)?\s+(?:it|this|that|to)|corrected|correction|fix(?:ed|ing)?|"
    r"instead|rather|recount(?:ing)?|revis(?:e|ed|ing)|try\s+again|first\s+(?:try|guess|attempt)))")
# a quotation that holds an answer cue is someone else's statement (the question's), not the model's
_QUOTED = re.compile(r'"[^"\n]{0,400}"|“[^”\n]{0,400}”|``[^\n]{0,400}?\'\'|(?m:^[ \t]*>[^\n]*)')
_CUE = re.compile(r"(?i)\\boxed|\\fbox|answer|####")
# the fallback: a last clause that is one number, with nothing around it that hedges or negates
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|[,;:]\s+")
_DOUBT = re.compile(
    r"(?i)\b(?:not|n't|no|never|maybe|perhaps|probably|possibly|might|guess|unsure|sure|or|either|about|"
    r"approximately|around|roughly|nearly|almost|least|most|step|question|problem|unknown|between|than|plausible|"
    r"likely|unlikely|could|may|seems?|suppose|assume|if|unless|whether|wrong|incorrect|instead|cannot|can|"
    r"impossible|false|except|exclude|equation|figure|page|line|chapter|section|item|part|see)\b|\?")
# what stands just before a box and changes what it says: "not \boxed{4}", "\geq \boxed{4}", "3 or \boxed{4}"
_BEFORE_BOX = re.compile(
    r"(?i)(?:\\neq?|≠|\\not|\\[lg]eq?|\\[lg]t|[<>≤≥≈≃≅∼≲≳≪≫]|\\(?:approx\w*|thickapprox|sim(?:eq)?|thicksim|"
    r"lesssim|gtrsim|lessapprox|gtrapprox|asymp|doteq|cong|propto|to|ll|gg)(?![A-Za-z])|(?:\bnot|n't|\bnever|\bcannot)(?:\s+[A-Za-z]+){0,2}|\\(?:overset|stackrel)\s*\{\s*\?\s*\}\s*\{\s*=\s*\}|\bno|\bat\s+(?:least|most)|"
    r"\b(?:more|less|fewer|greater|other)\s+than|\bover|\bunder|\babout|\bapproximately|\bor|\bnor|\bneither|"
    r"\\pm|±|\\vee|\\lor)\s*(?:\$|\\\(|\\\[)?\s*\\(?:boxed|fbox)\s*\{$")

# after the final statement, "or" opening a clause offers another candidate ("\boxed{4} or 5", ". Or is it 5?",
# ", or maybe $5$"): the candidate stands beside the answer (a hedge unless it equals the gold: "or 0.5")
_NUMBER_WORD = (r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b")
_TAIL_OR = re.compile(
    r"(?i)(?:^|[.,;:!?(\n\u2014\u2013${]|\s-)\s*(?:(?:or|else|otherwise|vs\.?|versus|possibly|perhaps|maybe|probably|"
    r"is\s+it|what\s+about|how\s+about|in\s+which\s+case)\b|\((?=[^()\n]{0,80}(?:\?|\b(?:if|when|unless|depending)\b)))\}?(?:\s+(?!or\b)[A-Za-z']+){0,3}?\s*[:,]?\s*"
    r"(?=\\(?:boxed|fbox)\s*\{|\$|\\\(|[-+\u2212]?(?:\.?\d|\\[dt]?frac|\\sqrt|\\pi\b)|\([A-Z]\)|" + _NUMBER_WORD + ")")
_WORDS_NUMBER = re.compile(r"(?i)" + _NUMBER_WORD + r"(?:[\s-]+(?:and[\s-]+)?" + _NUMBER_WORD + ")*")
_TAIL_OP = r"\s*(?:[-+*/^=<>\u2264\u2265]=?|\\[lg]eq?\b|\\[lg]t\b|\\neq?\b|\\times\b|\\cdot\b)\s*"
_TAIL_EXPR = re.compile(r"[^\s,;?!]+(?:" + _TAIL_OP + r"[^\s,;?!]+)*")
# what is glued right after a box and changes the value it shows: an operator and its operand (`^2`, `\%`,
# `\times 10^3`, ` + 1`, `/2`, `\pm 1`), a digit (`\boxed{1}2`), a value word (` thousand`); "!" stays
# punctuation ("The answer is \boxed{12}!"), a "-" only counts before a digit, command or bracket
_AFTER_BOX = re.compile(
    r"\d[\d.,]*|[ \t]*(?:\^|_|\\?%|\\(?:times|cdot|div|pm|mp)\b|[*/\u00d7\u00f7\u00b7\u00b1\u2213]|[-+](?=[ \t]*[-+]?[\d\\({]))"
    r"[ \t]*[-+]?(?:\{[^{}\n]{0,60}\}|\\[a-zA-Z]+(?:\{[^{}\n]{0,60}\})*|[\d.]+|\([^()\n]{0,60}\))?"
    r"(?:\^(?:\{[^{}\n]{0,20}\}|[-+]?\d+))?"
    r"|[ \t]+(?i:thousand|million|billion|trillion|dozen|hundred|squared|cubed|percent)\b")
_HTML_TAG_END = re.compile(r"<[A-Za-z][\w-]{0,20}(?:\s[^<>]{0,200})?>(?=\s*(?:\$|\\\(|\\\[)?\s*\\(?:boxed|fbox)\s*\{$)")
_GLUED_BEFORE = re.compile(r"(?<![\w)}\]])([-\u2212]|\d[\d.,]*)\\(?:boxed|fbox)\s*\{$")  # `-\boxed{12}`, `1\boxed{2}`
_OPEN_AFTER = ("?", "...", "\u2026", "ldots", "dots", "cdots")  # `\boxed{7}?`, `\boxed{7}...`: left open
_MAX_TAIL_CANDIDATES = 18  # one more than the verifier's standing limit: enough to call a long tail a hedge

_MATH_AT_END = re.compile(r"\$([^$]{1,200})\$\s*[.!]?$|\\\(((?:(?!\\\)).){1,200})\\\)\s*[.!]?$")
_WORKED = re.compile(r"(?:^|\s)((?:\d[\d.]*\s*[-+*/×÷^]\s*)+\d[\d.]*\s*=\s*-?\d[\d.]*)\s*[.!]?$")


@dataclass(frozen=True)
class Extraction:
    """The final answer of a completion (`answer` None when there is none) and how it was found.

    `how`: boxed, answer_is, hashes, last_number, or why nothing counts (none, retracted, truncated).
    `standing`: other boxed answers that were never taken back; any that differs from the gold is a hedge.
    """

    answer: str | None
    how: str
    standing: tuple[str, ...] = ()


def _box_spans(text: str) -> list[tuple[int, int | None]]:
    """(content start, content end or None when unbalanced) of every box, in one linear pass."""
    starts = [m.end() for m in _BOX.finditer(text)]
    if not starts:
        return []
    closing: dict[int, int] = {}
    stack: list[int] = []
    for j in range(starts[0] - 1, len(text)):
        c = text[j]
        if c == "{":
            stack.append(j)
        elif c == "}" and stack:
            closing[stack.pop()] = j
    return [(s, closing.get(s - 1)) for s in starts]


def _answer_is(text: str, m: re.Match) -> tuple[str | None, int]:
    """(the statement's content, where it ends) for one "answer is" match."""
    rest_start = m.end() + (len(text[m.end():m.end() + 500]) - len(text[m.end():m.end() + 500].lstrip()))
    rest = text[rest_start:rest_start + 500]
    if rest.startswith("$") and not rest.startswith("$\\boxed") and not rest.startswith("$$"):
        end = rest.find("$", 1)
        if end > 0:
            return rest[1:end], rest_start + end + 1
    cut = _SENTENCE_END.search(rest)
    body = rest[:cut.start()] if cut else rest
    return body.strip() or None, rest_start + len(body)


def _statements(text: str) -> list[tuple[int, int, str | None, str]]:
    """(start, end, content or None if truncated, how) of every answer statement, in text order."""
    found = []
    boxes = _box_spans(text)
    for start, end in boxes:
        if end is None:
            found.append((start, len(text), None, "boxed"))
        else:  # a combining overlay on the closing brace (`\boxed{7}̸`) strikes the whole box
            struck = text[end + 1:end + 2] if text[end + 1:end + 2] in _OVERLAYS else ""
            glued = _AFTER_BOX.match(text, end + 1 + len(struck))  # `\boxed{12}^2` shows 12^2, not 12
            suffix = glued.group(0) if glued else ""
            found.append((start, end + 1 + len(struck) + len(suffix), text[start:end] + struck + suffix, "boxed"))
    box_starts = {b[0] for b in boxes}
    for m in list(_ANSWER_IS.finditer(text))[-2:]:  # only boxes can stand beside the final one: the last two do
        content, end = _answer_is(text, m)
        inner = any(m.end() + k in box_starts for k in range(13))
        if inner or content is None:  # "the answer is \boxed{4}": the box is the statement
            continue
        found.append((m.start(), end, content, "answer_is"))
    for m in list(_HASHES.finditer(text))[-2:]:
        found.append((m.start(), m.end(), m.group(1).strip(), "hashes"))
    return sorted(found, key=lambda f: f[0])


def _unquoted(text: str) -> str:
    """Without quotations (and markdown `>` quote lines) that hold an answer cue."""
    return _QUOTED.sub(lambda q: " " if _CUE.search(q.group(0)) else q.group(0), text)


def _last_number(text: str) -> str | None:
    """The number of a last clause that is one number and holds no doubt ("So 4.", "gives 17")."""
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(text[-2000:].strip()) if c and c.strip()]
    if not clauses:
        return None
    sentence = _SENTENCE_SPLIT.split(text[-2000:].strip())[-1]
    span = _MATH_AT_END.search(sentence)
    if span and not _DOUBT.search(sentence) and not re.search(r"\d", sentence[:span.start()]):
        return span.group(1) or span.group(2)  # "The probability is $\frac{1}{2}$.", "The pair is $(2, 3)$."
    last = clauses[-1]
    if _DOUBT.search(last):
        return None
    worked = _WORKED.search(last)
    if worked:  # "and 8 * 2 = 16": the whole equation, which is paid only when every side is the gold
        return worked.group(1)
    nums = list(_NUMBER.finditer(last))
    if len(nums) != 1 or re.search(r"[(\[^_#§]\s*$|[A-Za-z]$", last[:nums[0].start()]):  # "(5)", "x^5", "#5", "x5"
        return None
    if is_relation(re.sub(r"(?<![!<>=])=(?!=)", " ", last[:nums[0].start()])):  # "x ≈ 17", "x < 17": a bound, not a value
        return None
    number = nums[0].group(0).strip()
    tail = last[nums[0].end():].rstrip(".!")
    return number + tail if len(tail.split()) <= 3 and not value_changing_tail(tail) else None


def final_answer(text: str, last_number: bool = True) -> Extraction:
    """The last committed answer statement of `text`, read as a reader sees it (see `final_text`).

    >>> final_answer("<think>\\\\boxed{3}</think> so \\\\boxed{4}")
    Extraction(answer='4', how='boxed', standing=())
    >>> final_answer("\\\\boxed{4}. Wait, that is wrong.").how
    'retracted'
    """
    region = _unquoted(answer_region(text))
    found = _statements(region)
    if not found:
        got = _last_number(region) if last_number else None
        return Extraction(got, "last_number" if got is not None else "none")
    start, end, content, how = found[-1]
    if content is None:
        return Extraction(None, "truncated")
    final = _with_prefix(region, start, content) if how == "boxed" else content
    tail = _squeezed(region[end:])  # padding (spaces, kerns) never pushes a retraction out of sight
    if _RETRACT.search(tail) or tail[:20].lstrip("$)] \\").startswith(_OPEN_AFTER):
        return Extraction(None, "retracted")
    tail_candidates = _tail_alternatives(tail)
    standing: dict[str, None] = {}  # distinct, in order; past 17 the verifier calls it a hedge anyway
    for (s, e, c, h), (nxt, *_rest) in zip(found[:-1], found[1:], strict=True):
        # "#### 42 .. #### 43", "Answer: 7 .. Answer: 8"; not "Final Answer: The final answer is 7" (nested)
        same_kind = (h == how and h in ("answer_is", "hashes") and e <= nxt and re.search(r"\d", c or "")
                     and not _CORRECTION.search(c))  # "The answer is 5 but wait, let me re-check... 7"
        if (h == "boxed" or same_kind) and c is not None and c != content and not _CORRECTION.search(region[e:nxt]):
            standing[_with_prefix(region, s, c)] = None
            if len(standing) > 17:
                break
    standing.update(dict.fromkeys(c for c in tail_candidates if c != content))
    return Extraction(final, how, tuple(standing))


_PADDING = re.compile(  # blank space, kerns, line breaks: what shows as a gap
    r"(?:\s|~|\\[,;:! ]|\\\\|\\(?:q?quad|enspace|thinspace|medspace|thickspace|hfill|newline|linebreak|par|smallskip|"
    r"medskip|bigskip|noindent)(?![A-Za-z])|\\(?:[hv]space\*?|[hv]skip|m?kern|mskip)\s*(?:\{[^{}]{0,40}\}|[-+]?[\d.]+\s*[a-z]{2}))+")


def _squeezed(tail: str) -> str:
    """The text after the final statement with each run of blank space one space (linear time)."""
    return _PADDING.sub(" ", tail)


def _tail_alternatives(tail: str) -> list[str]:
    """Candidates that text after the final statement offers with a clause-opening "or" (a box's content, a
    `$..$` span or a number), in order; the verifier calls each one that differs from the gold a hedge."""
    out: list[str] = []
    for m in _TAIL_OR.finditer(tail):
        rest = tail[m.end():m.end() + 400].replace("\u2212", "-")
        rest = re.sub(r"^\$\s*\$", "", rest)  # "$\text{or}$ $13$": the span closes and the next opens
        box = _BOX.match(rest)
        if box:
            spans = _box_spans(rest)
            got = rest[spans[0][0]:spans[0][1]] if spans[0][1] is not None else None
        elif rest.startswith("$") or rest.startswith("\\("):
            close = rest.find("\\)" if rest.startswith("\\(") else "$", 2 if rest.startswith("\\(") else 1)
            got = rest[(2 if rest.startswith("\\(") else 1):close] if close > 0 else None
        elif re.match(r"\([A-Z]\)", rest):  # "or (B)": another choice
            got = rest[:3]
        else:
            words = _WORDS_NUMBER.match(rest)  # "or thirteen", "or one hundred and five"
            num = _NUMBER.match(rest)
            expr = _TAIL_EXPR.match(rest[:200])  # "or -\frac{5}{3} apples." -> the expression
            if words:
                got = words.group(0)
            elif num and not re.match(_TAIL_OP, rest[num.end():]):  # "or 12,000 apples" -> "12,000"
                got = num.group(0).strip()
            else:  # "or 1 < x <= 4", "or -\frac{5}{3}." -> the whole expression
                got = expr.group(0).rstrip(".") if expr else None
        if got and got.strip():
            out.append(got.strip())
        if len(out) >= _MAX_TAIL_CANDIDATES:
            break
    return out


def _with_prefix(region: str, start: int, content: str) -> str:
    """A box's content with the relation or negation just before it (`not \\boxed{4}` says "not 4")."""
    glued = _GLUED_BEFORE.search(region[max(0, start - 30):start])
    if glued:  # a sign or digits written against the box belong to the value it shows
        content = glued.group(1).replace("\u2212", "-") + ("" if glued.group(1) in "-\u2212" else " ") + content
    before = _BEFORE_BOX.search(_HTML_TAG_END.sub("", region[max(0, start - 60):start]))  # `<b>\boxed{5}`: no ">"
    return (before.group(0)[:before.group(0).rfind("\\")] + " " if before else "") + content


def extract_answer(text: str, last_number: bool = True) -> tuple[str | None, str]:
    """(answer text or None, how it was found); see `final_answer`.

    >>> extract_answer("7*8 = 56 ... The final answer is 56.")
    ('56', 'answer_is')
    >>> extract_answer("so $x = \\\\boxed{\\\\frac{1}{2}}$")
    ('\\\\frac{1}{2}', 'boxed')
    """
    got = final_answer(text, last_number)
    return got.answer, got.how


def last_box(text: str) -> str | None:
    """Content of the last box a reader sees (None if there is none or it never closes)."""
    spans = _box_spans(answer_region(text))
    if not spans or spans[-1][1] is None:
        return None
    region = answer_region(text)
    return region[spans[-1][0]:spans[-1][1]]


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
