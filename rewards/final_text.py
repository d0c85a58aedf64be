"""The part of a completion that states its answer, and whether LaTeX content would show anything.

A verifier pays what the model *said*, not what it thought or hid: `answer_region` drops think blocks (a
`<think>` never closed makes everything after it thinking) and drops what a reader never
sees: LaTeX comments, HTML comments, `\\iffalse..\\fi`, `\\phantom{}` and its kin. `visually_empty` says
whether LaTeX content renders as nothing (`\\,`, `\\phantom{x}`, `\\text{ }`). Linear-time string work only.
What it does not do: find the answer inside the region (see `math_extract`) or judge quotations.
"""

from __future__ import annotations

import bisect
import re

__all__ = ["outside_think", "answer_region", "visually_empty", "drop_command"]

_THINK_TAG = re.compile(r"<(/?)think>", re.I)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_IFFALSE = re.compile(r"\\iffalse\b.*?(?:\\fi\b|\Z)", re.S)
# a `%` starts a comment at a line's start or after a letter/punctuation; `50%`, `50 %` and `\%` are percents
_TEX_COMMENT = re.compile(r"(?m)(?:^[ \t]*|(?<=[^\\\d\s])[ \t]*)%.*$")
_PHANTOMS = ("phantom", "hphantom", "vphantom")


def outside_think(text: str) -> str:
    """The text a reader takes as the answer: without think blocks (a leading `..</think>` whose `<think>` the
    chat template opened, every `<think>..</think>`), cut at a `<think>` that is never closed.

    Unlike a tool runtime (see `json_extract.runtime_region`, which reads a later think block as answer text),
    a reader of a math answer skips every block of reasoning. One pass over the tags: linear time.

    >>> outside_think("<think>maybe 3</think> The answer is 4.")
    ' The answer is 4.'
    >>> outside_think("<think>unfinished \\\\boxed{4}"), outside_think("so 4 <think>or 5?</think>")
    ('', 'so 4 ')
    """
    out, pos, inside, seen = [], 0, False, False
    for tag in _THINK_TAG.finditer(text):
        closing = tag.group(1) == "/"
        if closing and not inside and seen:  # a second close after a block ended: a stray tag, not a boundary
            out.append(text[pos:tag.start()])
            pos = tag.end()
        elif closing and not inside:  # reasoning opened by the template: all before it goes
            out, pos = [], tag.end()
        elif not closing and not inside:
            out.append(text[pos:tag.start()])
            inside = True
        elif closing:
            pos, inside = tag.end(), False
        seen = True
    if not inside:
        out.append(text[pos:])
    return "".join(out)


def _group_end(text: str, start: int) -> int:
    """Index just past the brace group opening at text[start] == '{' (len(text) when unbalanced)."""
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif text[j] == "}" and (j == 0 or text[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def drop_command(text: str, names: tuple[str, ...], keep: bool = False) -> str:
    """Remove `\\name{...}` for each name (its argument too unless `keep`); unbalanced: to the end.

    >>> drop_command("a\\\\phantom{\\\\boxed{4}}b", ("phantom",))
    'ab'
    """
    pattern = re.compile(r"\\(?:" + "|".join(names) + r")\s*(?=\{)")
    out, pos = [], 0
    for m in pattern.finditer(text):
        if m.start() < pos:
            continue
        end = _group_end(text, m.end())
        out.append(text[pos:m.start()])
        if keep:
            out.append(text[m.end() + 1:end - 1])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def answer_region(text: str) -> str:
    """What a reader sees of the completion's answer: outside think, without comments or phantoms.

    >>> answer_region("% \\\\boxed{3}\\n\\\\boxed{4}")
    '\\n\\\\boxed{4}'
    """
    text = unicode_view(outside_think(text))
    text = _HTML_COMMENT.sub(" ", text)
    text = _IFFALSE.sub(" ", text)
    text = _drop_hidden(text)
    text = _TEX_COMMENT.sub("", text)
    text = _ANSWER_TAG.sub(lambda m: "\n" if m.group(1) else "\nAnswer: ", text)
    return uncolor(drop_command(unscaled(text), _PHANTOMS))


def unscaled(text: str) -> str:
    """`\\scalebox{0}{x}` and `\\resizebox{0pt}{..}{x}` written as the `\\phantom{x}` they render as."""
    if "scalebox" in text or "resizebox" in text:
        return _SCALED_AWAY.sub(r"\\phantom", text)
    return text


# Unseen or struck text (M2, M12): a comment environment, a markdown comment line, an HTML element hidden by
# style or attribute, markdown `~~..~~` and HTML <s>/<del>/<strike> (a struck answer is no answer; a struck
# earlier box no longer stands). Found by bounded regexes and paired by position: linear time.
_COMMENTS = re.compile(r"\\begin\{comment\}.*?(?:\\end\{comment\}|\Z)|(?m:^\[//\]:\s*#.*$)", re.S)
_ELEMENT = re.compile(r"<(s|del|strike)(?:\s[^<>]{0,200})?>|<(\w{1,20})\b[^<>]{0,300}?(?:display\s*:\s*none"
                      r"|visibility\s*:\s*hidden|\shidden\b|(?<![-\w])color\s*[:=]\s*[\"']?\s*(?:white|transparent|"
                      r"#f{3}(?:f{3})?)\b|opacity\s*:\s*0*(?:\.0*)?(?![.\d])|font-size\s*:\s*0*(?:\.0*)?(?:px|pt|em|rem|%)?"
                      r"(?![.\d]))[^<>]{0,300}>", re.I)
_TILDE_OPEN = re.compile(r"(?<![^\s(*_])~~(?![\s~])")  # markdown strike, not LaTeX ties (x~~=~~5)
_TILDE_CLOSE = re.compile(r"(?<![\s\\~])~~(?=[\s.,;:!?)*_]|$)")


def _drop_hidden(text: str) -> str:
    if "\\begin{comment}" in text or "[//]:" in text:
        text = _COMMENTS.sub(" ", text)
    if "<" in text:
        text = _drop_elements(text)
    if "~~" in text:
        text = _drop_tildes(text)
    return text


def _drop_elements(text: str) -> str:
    """Without struck or hidden HTML elements (an unclosed hidden one hides the rest; an unclosed <s> is text)."""
    out, pos, lower, missing = [], 0, text.lower(), set()
    for m in _ELEMENT.finditer(text):
        if m.start() < pos:
            continue
        tag = (m.group(1) or m.group(2)).lower()
        close = -1 if tag in missing else lower.find("</" + tag, m.end())
        if close < 0:
            missing.add(tag)  # not found from here, so not from anywhere later either
            if m.group(2):
                out.append(text[pos:m.start()])
                pos = len(text)
                break
            continue
        end = lower.find(">", close)
        out.append(text[pos:m.start()] + " ")
        pos = len(text) if end < 0 else end + 1
    out.append(text[pos:])
    return "".join(out)


def _drop_tildes(text: str) -> str:
    """Without `~~struck~~` spans (opener and closer on one line)."""
    closers = [m.start() for m in _TILDE_CLOSE.finditer(text)]
    if not closers:
        return text
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    out, pos = [], 0
    for m in _TILDE_OPEN.finditer(text):
        if m.start() < pos:
            continue
        k = bisect.bisect_left(closers, m.end())
        if k == len(closers):
            break
        n = bisect.bisect_left(newlines, m.end())
        if n < len(newlines) and newlines[n] < closers[k]:
            continue
        out.append(text[pos:m.start()] + " ")
        pos = closers[k] + 2
    out.append(text[pos:])
    return "".join(out)


# R1-style `<answer>..</answer>` reads as an "Answer:" statement (so `<`/`>` are not relations)
_ANSWER_TAG = re.compile(r"<(/?)answer>", re.I)
# Unicode that shows a value other than its code points say: invisible format characters go; dashes before
# a digit are minus signs; superscript digits are exponents (NFKC would make 7² the number 72); vulgar
# fractions are fractions (NFKC would make 1½ the number 11/2); a no-break space between digit groups is
# a thousands separator; a combining overlay after `$` strikes what precedes it; bidi controls, which make
# the text show other than it says, read as doubt ("?").
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"
                                      "\u200e\u200f\u061c"))
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")  # embeddings, overrides, isolates (not the plain marks)
_DASH_MINUS = re.compile("(?<![\\w.)\\]}])[\u2010\u2011\u2012\u2013\u2014\ufe63\uff0d\u2212](?=\\s*[\\d\uff10-\uff19.])")
_SUPERSCRIPT = re.compile("[\u2070\u00b9\u00b2\u00b3\u2074-\u207b]+")
_SUP_MAP = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207a\u207b", "0123456789+-")
_SUB_MAP = str.maketrans("\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089", "0123456789")
_SLASHED = re.compile("([\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+)[\u2044/]([\u2080-\u2089]+)")  # \u00b3\u2044\u2084 = 3/4
_VULGAR = {"\u00bd": (1, 2), "\u2153": (1, 3), "\u2154": (2, 3), "\u00bc": (1, 4), "\u00be": (3, 4),
           "\u2155": (1, 5), "\u2156": (2, 5), "\u2157": (3, 5), "\u2158": (4, 5), "\u2159": (1, 6),
           "\u215a": (5, 6), "\u2150": (1, 7), "\u215b": (1, 8), "\u215c": (3, 8), "\u215d": (5, 8),
           "\u215e": (7, 8), "\u2151": (1, 9), "\u2152": (1, 10)}
_VULGAR_RE = re.compile("[" + "".join(_VULGAR) + "]")
_GROUP_SPACE = re.compile("(?<=\\d)[\u00a0\u202f\u2009](?=\\d{3}(?!\\d))")
_OVERLAY_AFTER = re.compile("([$}])([\u0334-\u0338\u20d2\u20e0\u20e5])")


def _frac(num: object, den: object) -> str:
    return "\\frac{" + str(num) + "}{" + str(den) + "}"


def unicode_view(text: str) -> str:
    """`text` with Unicode read as it shows (see the table above); ASCII text is returned as is.

    >>> unicode_view("7\u00b2 = 49, 1\u00bd, \u22125, 4\u200b2")
    '7^{2} = 49, 1\\\\frac{1}{2}, -5, 42'
    """
    if text.isascii():
        return text
    text = _BIDI.sub(" ? ", text.translate(_ZERO_WIDTH))
    text = _DASH_MINUS.sub("-", text)
    text = _SLASHED.sub(lambda m: _frac(m.group(1).translate(_SUP_MAP), m.group(2).translate(_SUB_MAP)), text)
    text = _SUPERSCRIPT.sub(lambda m: "^{" + m.group(0).translate(_SUP_MAP) + "}", text)
    text = _VULGAR_RE.sub(lambda m: _frac(*_VULGAR[m.group(0)]), text)
    text = _GROUP_SPACE.sub("\\,", text)
    return _OVERLAY_AFTER.sub(r"\2\1", text)


# `\color{white}` hides the rest of its group, `\textcolor{white}{x}` its argument; other colours only tint.
_TEXTCOLOR = re.compile(r"\\textcolor\s*(?:\[[^\]]*\])?\{([^{}]*)\}\s*(?=\{)")
_TEXTCOLOR_TOKEN = re.compile(r"\\textcolor\s*(?:\[[^\]]*\])?\{([^{}]*)\}\s*(\\[A-Za-z]+|[^\s{\\])")  # `\textcolor{white}5`
_COLORBOX = re.compile(r"\\colorbox\s*(?:\[[^\]]*\])?\{[^{}]*\}")  # a background: its content shows
# scaled to nothing: the argument shows nothing, like a phantom's
_SCALED_AWAY = re.compile(r"\\scalebox\s*\{\s*[0.]+\s*\}(?:\s*\[[^\]]*\])?|\\resizebox\*?\s*(?:\{\s*[0.]+\s*[a-z]{0,2}\s*\}"
                          r"\s*\{[^{}]*\}|\{[^{}]*\}\s*\{\s*[0.]+\s*[a-z]{0,2}\s*\})")
_COLOR = re.compile(r"\\color\s*(?:\[[^\]]*\])?\{([^{}]*)\}")
_IS_WHITE = re.compile(  # a colour that shows nothing on a page: white, near-white (every channel >= 0xF0), none
    r"^\s*(?:white(?:!\d+)?|\w+!0|transparent|none|snow|honeydew|mintcream|azure|aliceblue|ghostwhite|whitesmoke|"
    r"seashell|floralwhite|ivory|lavenderblush|#?f[0-9a-f]{1,2}f[0-9a-f]{1,2}f[0-9a-f]{1,2}|#?f{3}|"
    r"(?:0?\.9[4-9]\d*|1(?:\.0*)?)\s*,\s*(?:0?\.9[4-9]\d*|1(?:\.0*)?)\s*,\s*(?:0?\.9[4-9]\d*|1(?:\.0*)?)|"
    r"(?:2[45]\d)\s*,\s*(?:2[45]\d)\s*,\s*(?:2[45]\d)|"
    r"0?\.9[4-9]\d*|1(?:\.0*)?|"  # the gray model: one level, 1 is white
    r"(?:0?\.0[0-6]\d*|0?\.0+|0)(?:\s*,\s*(?:0?\.0[0-6]\d*|0?\.0+|0)){3})\s*$", re.I)  # cmyk with no ink


def uncolor(text: str) -> str:
    """Colours dropped; what a white colour hides dropped with it.

    >>> uncolor("\\\\boxed{\\\\color{white}{1}7} \\\\textcolor{red}{8} \\\\textcolor{white}{9}")
    '\\\\boxed{} 8 '
    """
    if "color" not in text:
        return text
    text = _COLORBOX.sub("", text)
    text = _TEXTCOLOR_TOKEN.sub(lambda m: ("" if _IS_WHITE.match(m.group(1)) else m.group(2))
                                if not m.group(2) == "{" else m.group(0), text)
    out, pos = [], 0
    for m in _TEXTCOLOR.finditer(text):
        if m.start() < pos:
            continue
        end = _group_end(text, m.end())
        out.append(text[pos:m.start()])
        if not _IS_WHITE.match(m.group(1)):
            out.append(text[m.end() + 1:end - 1])
        pos = end
    text = "".join(out) + text[pos:]
    out, pos = [], 0
    for m in _COLOR.finditer(text):
        if m.start() < pos:
            continue
        out.append(text[pos:m.start()])
        pos = m.end()
        if _IS_WHITE.match(m.group(1)):  # hide to the end of the enclosing group (or of the math span)
            depth, j = 0, m.end()
            while j < len(text) and not (depth == 0 and text[j] in "}$"):
                depth += text[j] == "{"
                depth -= text[j] == "}"
                j += 1
            pos = j
    return "".join(out) + text[pos:]


_INVISIBLE = re.compile(
    r"\\(?:[,;:! ()\[\]]|quad|qquad|enspace|thinspace|medspace|thickspace|negthinspace|displaystyle|textstyle"
    r"|scriptstyle|scriptscriptstyle|tiny|scriptsize|footnotesize|small|normalsize|large|Large|LARGE|huge|Huge|hfill|left\.|right\.|relax|nobreak|allowbreak|strut|mathstrut|null|empty"
    r"|(?:hskip|mskip|kern|mkern|hspace\*?|vspace\*?)\s*(?:\{[^{}]*\}|[-+]?[\d.]+\s*[a-z]{2}))(?![A-Za-z])|~|\s|[{}]"
    r"|[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u2800\u3164\u115f\u1160\uffa0\u034f\u180e]"
    r"|&(?:nbsp|ensp|emsp|thinsp|zwnj|zwj|#160|#xa0|#8203|#x200b);"
    r"|(?<!\\)\$|</?[A-Za-z][\w-]{0,20}(?:\s[^<>]{0,200})?/?>")  # math shifts and HTML tags show nothing
_RULE = re.compile(r"\\rule\s*(?:\[[^\]]*\])?\{[^{}]*\}\s*\{[^{}]*\}")
_SIZED = ("hspace", "vspace", "hskip", "kern", "color", "textcolor", "mspace", "rule")
_WRAPPERS = ("text", "textrm", "textbf", "textit", "mathrm", "mathbf", "mathit", "mbox", "operatorname",
             "boldsymbol", "mathsf", "texttt", "smash", "bm", "ensuremath", "mathbin",
             "mathord", "mathop", "llap", "rlap", "clap", "mathllap", "mathrlap", "mathclap", "hbox", "vbox",
             "makebox", "mbox")


def visually_empty(content: str) -> bool:
    """True when LaTeX `content` renders as nothing visible (spaces, phantoms, empty groups).

    >>> visually_empty("\\\\,"), visually_empty("\\\\phantom{x}"), visually_empty("\\\\text{ }"), visually_empty("0")
    (True, True, True, False)
    """
    s = uncolor(drop_command(unscaled(_HTML_COMMENT.sub("", content)), _PHANTOMS))
    s = _RULE.sub("", s)  # a rule is a bar, not an answer
    s = drop_command(s, _SIZED)
    s = drop_command(s, _WRAPPERS, keep=True)
    return not _INVISIBLE.sub("", s)
