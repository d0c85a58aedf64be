"""Find the final answer in a math completion; no sympy here.

`final_answer` reads the completion as a reader sees it (`final_text.answer_region`: outside `<think>`,
without comments or phantoms), drops quotations that hold an answer cue (the question's words), and takes
the LAST statement: a `\\boxed{}`/`\\fbox{}`, "answer is"/"Answer:"/"correct option is", or `#### x`. A last box
that never closes, or later text that takes the answer back ("wait", "that is wrong"), leaves no answer;
earlier boxes never corrected are returned as `standing` (the verifier calls them a hedge if they differ).
With no statement at all, a bare last number counts only in a last clause with nothing doubtful around it.
Everything here is linear-time regex/string work, so a megabyte is still fast.
What it does not do: clean the answer text found (`math_normalize`), decide equality or refusals (see
`math_answer`, `math_policy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .final_text import answer_region
from .math_policy import is_relation, value_changing_tail

__all__ = ["Extraction", "final_answer", "extract_answer", "last_box"]

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
