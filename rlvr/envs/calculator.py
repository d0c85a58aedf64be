"""The calculator environment: arithmetic problems where calling a calculator tool helps a small model.

The model may call `calculator` any number of turns with the Hermes format the `tool_call` verifier reads,
`<tool_call>{"name": "calculator", "arguments": {"expression": "123*45"}}</tool_call>`; each call runs `evaluate`
in the worker pool (`rlvr.envs.base.ToolRunner`: a hard timeout, a killed tool ends the episode) and its result
is the next observation. A turn without a call is the answer and ends the episode; the verifiers score it
(`math` against the row's `answer`). Per episode the environment pays `tool_reward` once, on the first turn whose
calls all parsed and ran (the "valid tool call" term, weighted by `env.reward_weight`).

Calls are parsed with `rewards.tool_call.parse_tool_calls` (the verifier's own parser); expressions are
evaluated exactly by `rewards.math_normalize.as_number` (+ - * / and parentheses on decimals, no names, no
powers: nothing a model could use to run code). What it does not cover: other tools, code execution (model code
belongs in `sandbox`), or word problems needing more than arithmetic.
"""

from __future__ import annotations

from typing import Any

from rewards.math_normalize import as_number
from rewards.tool_call import parse_tool_calls
from rlvr.envs.base import Environment, StepResult, register

__all__ = ["CalculatorEnv", "evaluate"]

TOOL = "rlvr.envs.calculator:evaluate"
SYSTEM_PROMPT = (
    "You have a calculator. To use it, reply with only "
    '<tool_call>{"name": "calculator", "arguments": {"expression": "..."}}</tool_call> and wait for the result. '
    "Then give the final answer as \\boxed{result}."
)
# One worked exchange, as real chat turns before the question: a 135M model copies a shown turn far more readily
# than a described one.
EXAMPLE = [
    {"role": "user", "content": "Calculate 37 * 214."},
    {"role": "assistant", "content": '<tool_call>{"name": "calculator", "arguments": {"expression": "37*214"}}</tool_call>'},
    {"role": "user", "content": "calculator: 7918"},
    {"role": "assistant", "content": "37 * 214 = 7918. The answer is \\boxed{7918}."},
]


def evaluate(expression: str) -> str:
    """The exact value of an arithmetic expression, as an integer or a decimal (at most 12 places).

    >>> evaluate("123*45"), evaluate("7/4"), evaluate("(2+3)*-4")
    ('5535', '1.75', '-20')
    """
    if not isinstance(expression, str):
        raise ValueError("expression must be a string")
    value = as_number(expression.strip())
    if value is None:
        raise ValueError(f"not an arithmetic expression: {expression[:80]!r} (use digits, + - * / and parentheses)")
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.12f}".rstrip("0").rstrip(".")


@register("calculator")
class CalculatorEnv(Environment):
    """One arithmetic problem (`question`, `answer` in the row); the model may use the calculator tool.
    Options: `system_prompt`, `example` (one worked exchange before the question), `tool_reward` (paid once per
    episode), `tool` (the function run, "module:name")."""

    name = "calculator"

    def __init__(self, system_prompt: str = SYSTEM_PROMPT, example: bool = True, tool_reward: float = 1.0,
                 tool: str = TOOL) -> None:
        self.system_prompt, self.example, self.tool_reward, self.tool = system_prompt, example, tool_reward, tool
        self.paid = False

    def reset(self, row: dict[str, Any]) -> list[dict[str, str]]:
        self.paid = False
        shown = EXAMPLE if self.example else []
        return [{"role": "system", "content": self.system_prompt}, *shown, {"role": "user", "content": row["question"]}]

    def step(self, text: str) -> StepResult:
        try:
            calls = parse_tool_calls(text, ["calculator"])
        except ValueError as exc:
            self.tools.errors += 1
            return StepResult(f"error: malformed tool call ({getattr(exc, 'reason', exc)})")
        if not calls:
            return StepResult(done=True, info={"reason": "answered"})
        lines, all_ok = [], True
        for call in calls:
            if call["name"] != "calculator":
                self.tools.errors += 1
                all_ok = False
                lines.append(f"error: unknown tool {call['name']!r}; the only tool is calculator")
                continue
            ok, out = self.tools.call(self.tool, {"expression": call["arguments"].get("expression")})
            all_ok &= ok
            lines.append(f"calculator: {out}" if ok else f"calculator error: {out}")
        reward = None
        if all_ok and not self.paid:
            self.paid, reward = True, self.tool_reward
        return StepResult("\n".join(lines), reward=reward)
