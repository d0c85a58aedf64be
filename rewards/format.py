"""Shape rewards: `format` (is the answer boxed / in a think-then-answer template?) and `length_penalty`
(a soft penalty for overlong completions, the remedy for verbosity drift).

Neither looks at correctness, so they are meant to be composed with a correctness verifier (`Composite`)
at a small weight. `format` reads the completion as `math` does (`final_text.answer_region`): a box inside
`<think>`, a comment or a `\\phantom{}` does not count, nor one that never closes, nor one that renders as
nothing (`\\boxed{\\,}`, `\\boxed{\\phantom{x}}`); in the think/answer template the answer must show something. Lengths are measured in characters or whitespace-separated words, not tokens: no tokenizer
is loaded here.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Score, Verifier
from .final_text import visually_empty
from .math_extract import last_box

__all__ = ["FormatVerifier", "LengthPenalty"]

_NO_TAGS = r"(?:(?!</?(?:think|answer)>).)*"  # text holding no think/answer tag
# a chat template's end-of-turn token, when the sampler keeps it, ends the answer; it is not text after it (F3)
_END_OF_TURN = r"(?:<\|im_end\|>|<\|eot_id\|>|<\|endoftext\|>|<\|end\|>|</s>)?"
_THINK_ANSWER = re.compile(rf"\s*<think>{_NO_TAGS}</think>\s*<answer>({_NO_TAGS})</answer>\s*{_END_OF_TURN}\s*",
                           re.S | re.I)


class FormatVerifier(Verifier):
    """Reward 1.0 when the completion has the expected shape, else 0.0.

    Styles: "boxed" (default: a non-empty final `\\boxed{...}`), "think_answer"
    (`<think>...</think><answer>...</answer>` and nothing else), "regex" (`pattern` must match somewhere).

    >>> FormatVerifier().score("so 7*8 = \\\\boxed{56}").reward
    1.0
    >>> FormatVerifier(style="think_answer").score("<think>7*8</think><answer>56</answer>").reward
    1.0
    """

    name = "format"
    required_fields = ()

    def __init__(self, style: str = "boxed", pattern: str | None = None) -> None:
        if style not in ("boxed", "think_answer", "regex"):
            raise ValueError(f"unknown format style {style!r}; use boxed, think_answer or regex")
        if (style == "regex") != (pattern is not None):
            raise ValueError("a `pattern` goes with style='regex' and only with it")
        self.style, self.pattern = style, pattern
        self._regex = re.compile(pattern, re.S) if pattern is not None else None

    def score(self, completion: str, **row: Any) -> Score:
        if self.style == "boxed":
            found = last_box(completion)
            ok = found is not None and not visually_empty(found)
            return Score(float(ok), {"reason": "boxed" if ok else "not_boxed"})
        if self.style == "think_answer":
            m = _THINK_ANSWER.fullmatch(completion)
            ok = m is not None and not visually_empty(m.group(1))
            return Score(float(ok), {"reason": "think_answer" if ok else "not_think_answer"})
        ok = self._regex.search(completion) is not None
        return Score(float(ok), {"reason": "matched" if ok else "no_match"})

    def __getstate__(self) -> dict[str, Any]:
        return {"style": self.style, "pattern": self.pattern}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)


class LengthPenalty(Verifier):
    """0 up to `max_length - buffer`, then linearly down to `-penalty` at `max_length`, `-penalty` beyond.

    The soft overlong penalty of DAPO: it discourages drifting towards the length cap without punishing
    completions that are merely long. `unit` is "chars" or "words".

    >>> LengthPenalty(max_length=100, buffer=50).score("x" * 75).reward
    -0.5
    """

    name = "length_penalty"
    required_fields = ()

    def __init__(self, max_length: int = 2048, buffer: int = 512, penalty: float = 1.0,
                 unit: str = "chars") -> None:
        if unit not in ("chars", "words"):
            raise ValueError("unit must be 'chars' or 'words'")
        if not 0 <= buffer <= max_length:
            raise ValueError("need 0 <= buffer <= max_length")
        self.max_length, self.buffer, self.penalty, self.unit = max_length, buffer, penalty, unit

    def score(self, completion: str, **row: Any) -> Score:
        n = len(completion) if self.unit == "chars" else len(completion.split())
        start = self.max_length - self.buffer
        if n <= start:
            return Score(0.0, {"reason": "within_length", "length": n})
        if n >= self.max_length or self.buffer == 0:
            return Score(-self.penalty, {"reason": "over_length", "length": n})
        return Score(-self.penalty * (n - start) / self.buffer, {"reason": "near_length_cap", "length": n})
