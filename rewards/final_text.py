"""The part of a completion that states its answer, and whether LaTeX content would show anything.

A verifier pays what the model *said*, not what it thought or hid: `answer_region` drops think blocks (a
`<think>` never closed makes everything after it thinking) and drops what a reader never
sees: LaTeX comments, HTML comments, `\\iffalse..\\fi`, `\\phantom{}` and its kin. `visually_empty` says
whether LaTeX content renders as nothing (`\\,`, `\\phantom{x}`, `\\text{ }`). Linear-time string work only.
What it does not do: find the answer inside the region (see `math_extract`) or judge quotations.
"""

from __future__ import annotations

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

    Unlike a tool runtime (see `json_extract.answer_region`, which reads a later think block as answer text),
    a reader of a math answer skips every block of reasoning. One pass over the tags: linear time.

    >>> outside_think("<think>maybe 3</think> The answer is 4.")
    ' The answer is 4.'
    >>> outside_think("<think>unfinished \\\\boxed{4}"), outside_think("so 4 <think>or 5?</think>")
    ('', 'so 4 ')
    """
    out, pos, inside = [], 0, False
    for tag in _THINK_TAG.finditer(text):
        closing = tag.group(1) == "/"
        if closing and not inside:  # reasoning opened by the template, or a stray close: all before it goes
            out, pos = [], tag.end()
        elif not closing and not inside:
            out.append(text[pos:tag.start()])
            inside = True
        elif closing:
            pos, inside = tag.end(), False
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
    text = outside_think(text)
    text = _HTML_COMMENT.sub(" ", text)
    text = _IFFALSE.sub(" ", text)
    text = _TEX_COMMENT.sub("", text)
    return drop_command(text, _PHANTOMS)


_INVISIBLE = re.compile(
    r"\\(?:[,;:! ]|quad|qquad|enspace|thinspace|medspace|thickspace|negthinspace|displaystyle|textstyle"
    r"|scriptstyle|hfill|left\.|right\.|relax|nobreak|allowbreak)|~|\s|[{}]")
_SIZED = ("hspace", "vspace", "hskip", "kern", "color", "textcolor", "mspace", "rule")
_WRAPPERS = ("text", "textrm", "textbf", "textit", "mathrm", "mathbf", "mathit", "mbox", "operatorname",
             "boldsymbol", "mathsf", "texttt")


def visually_empty(content: str) -> bool:
    """True when LaTeX `content` renders as nothing visible (spaces, phantoms, empty groups).

    >>> visually_empty("\\\\,"), visually_empty("\\\\phantom{x}"), visually_empty("\\\\text{ }"), visually_empty("0")
    (True, True, True, False)
    """
    s = drop_command(content, _PHANTOMS)
    s = drop_command(s, _SIZED)
    s = drop_command(s, _WRAPPERS, keep=True)
    return not _INVISIBLE.sub("", s)
