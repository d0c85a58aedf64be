"""The format grading policy of `rewards/README.md` (F rows), by table and by property: a box counts only
where `math` would read it (outside think, comments, phantoms; closed) and only when it shows something."""


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.format import FormatVerifier

BOXED, TEMPLATE = FormatVerifier(), FormatVerifier(style="think_answer")

POLICY = {
    "F1": [(BOXED, "<think>maybe 50</think> \\boxed{56}", 1.0), (BOXED, "<think>\\boxed{56}</think> 56", 0.0),
           (BOXED, "<think>working \\boxed{56}", 0.0), (BOXED, "% \\boxed{56}\n56", 0.0),
           (BOXED, "\\phantom{\\boxed{56}}", 0.0), (BOXED, "\\boxed{56", 0.0), (BOXED, "\\fbox{56}", 1.0)],
    "F2": [(BOXED, "\\boxed{0}", 1.0), (BOXED, "\\boxed{\\emptyset}", 1.0), (BOXED, "\\boxed{\\,}", 0.0),
           (BOXED, "\\boxed{ }", 0.0), (BOXED, "\\boxed{\\phantom{x}}", 0.0), (BOXED, "\\boxed{\\text{ }}", 0.0),
           (BOXED, "\\boxed{{}}", 0.0), (BOXED, "\\boxed{\\hspace{1em}}", 0.0), (BOXED, "\\boxed{}", 0.0)],
    "F3": [(TEMPLATE, "<think>7*8</think><answer>56</answer>", 1.0),
           (TEMPLATE, "<think>a</think><answer>56</answer><answer>57</answer>", 0.0),
           (TEMPLATE, "<think>a<answer>1</answer></think><answer>56</answer>", 0.0),
           (TEMPLATE, "<think>7*8</think><answer>\\,</answer>", 0.0),
           (TEMPLATE, "<think>7*8</think><answer>\\phantom{56}</answer>", 0.0),
           (TEMPLATE, "<think>a</think><answer>\u200b</answer>", 0.0),
           (TEMPLATE, "<think>a</think><answer>&nbsp;</answer>", 0.0),
           (TEMPLATE, "<think>a</think><answer><!-- 7 --></answer>", 0.0),
           (TEMPLATE, "<think>\na\n</think>\n\n<answer>\n7\n</answer>", 1.0)],
}
# red-team round 1: white text, zero-width and braille blanks, struts, kerns and rules show no answer
POLICY["F2"] += [(BOXED, "\\boxed{" + body + "}", 0.0) for body in (
    "\\color{white}{7}", "\\textcolor{white}{x}", "\\textcolor{#FFFFFF}{7}", "{\\color{white}{42}}", "\u200b",
    "\\text{\u2800}", "\\rule{0pt}{0pt}", "\\kern1em", "\\hskip 1em", "\\mskip 5mu", "\\strut", "\\mathstrut",
    "\\smash{}", "\\hspace*{1em}")]
POLICY["F2"] += [(BOXED, "\\boxed{\\textcolor{red}{7}}", 1.0), (BOXED, "\\boxed{\\phantom{x}7}", 1.0)]
# found attacking the round-2 fixes (in-sample): colours that show nothing, scaled to nothing, empty boxes of
# other names, size commands, HTML colour/opacity
POLICY["F2"] += [(BOXED, "\\boxed{" + body + "}", 0.0) for body in (
    "\\color{transparent}5", "\\textcolor{snow}{5}", "\\color{#fefefe}5", "\\textcolor{white!100}{5}",
    "\\textcolor{red!0}{5}", "\\textcolor[rgb]{1,1,1}{5}", "\\textcolor{white}5", "\\scalebox{0}{5}",
    "\\resizebox{0pt}{!}{5}", "\\tiny\\phantom{5}", "\\llap{}", "\\mathclap{}", "\\hbox{}",
    "\\colorbox{white}{\\textcolor{white}{5}}", "<font color=white>5</font>", "<span style='color:#fff'>5</span>",
    "<span style='opacity:0'>5</span>", "<span style='font-size:0px'>5</span>")]
POLICY["F2"] += [(BOXED, "\\boxed{" + body + "}", 1.0) for body in (
    "\\color{#e0e0e0}5", "\\textcolor{white!50!black}{5}", "\\colorbox{yellow}{5}", "\\textcolor{red}5",
    "\\large 5", "\\scalebox{2}{5}", "\\llap{5}", "<span style='background-color: white'>5</span>",
    "<span style='opacity:0.5'>5</span>")]
# red-team round 3 (blind): colour models, HTML tags and math delimiters that show nothing, end-of-turn tokens
POLICY["F1"] += [(BOXED, "\\textcolor[gray]{1}{\\boxed{7}}", 0.0), (BOXED, "\\hphantom{\\boxed{7}}", 0.0)]
POLICY["F2"] += [(BOXED, "\\boxed{" + body + "}", 0.0) for body in (
    "\\textcolor[gray]{1}{7}", "\\textcolor[cmyk]{0,0,0,0}{7}", "<span></span>", "<br/>", "$\\,$", "\\(\\)", "\\[\\]")]
POLICY["F2"] += [(BOXED, "\\boxed{" + body + "}", 1.0) for body in (
    "\\textcolor[gray]{0.5}{7}", "<b>7</b>", "$7$", "\\(x\\)", "\\$", "3<4")]
POLICY["F3"] += [(TEMPLATE, "<think>a</think><answer>7</answer><|im_end|>", 1.0),
                 (TEMPLATE, "<think>a</think><answer>7</answer>\n<|eot_id|>\n", 1.0),
                 (TEMPLATE, "<think>a</think><answer>7</answer><|im_end|> more", 0.0),
                 (TEMPLATE, "<think>a</think><answer>7</answer><|im_end|><|im_end|>", 0.0)]
CASES = [(key, *case) for key, cases in POLICY.items() for case in cases]


@pytest.mark.parametrize("key, verifier, completion, reward", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_policy_row(key, verifier, completion, reward):
    assert verifier.score(completion).reward == reward


def test_every_format_row_of_the_readme_is_tested(readme_policy_ids):
    ids = readme_policy_ids("F")
    assert ids and ids == set(POLICY)


INVISIBLE = ["\\,", "\\;", "\\:", "\\!", "\\ ", " ", "~", "\\quad", "\\qquad", "{}", "\\phantom{x}", "\\hphantom{42}",
             "\\vphantom{X}", "\\text{ }", "\\mathrm{\\,}", "\\hspace{2em}", "\\displaystyle", "\\strut", "\\kern1em",
             "\u200b", "<span></span>", "\\(\\)", "$\\;$"]
# `\color{white}` hides everything after it in its group, so it is invisible, but not a harmless prefix
# (red-team round 1: the old property pinned `\color{white}0` as visible, which is the defect)


@settings(max_examples=40, deadline=None)
@given(parts=st.lists(st.sampled_from(INVISIBLE), max_size=3), visible=st.sampled_from(["0", "x", "-1", "\\pi"]))
def test_white_text_shows_nothing(parts, visible):
    assert BOXED.score("so \\boxed{" + "".join(parts) + "\\color{white}" + visible + "}").reward == 0.0


@settings(max_examples=80, deadline=None)
@given(parts=st.lists(st.sampled_from(INVISIBLE), min_size=1, max_size=6))
def test_a_box_that_shows_nothing_is_not_a_box(parts):
    assert BOXED.score("so \\boxed{" + "".join(parts) + "}").reward == 0.0


@settings(max_examples=80, deadline=None)
@given(parts=st.lists(st.sampled_from(INVISIBLE), max_size=4), visible=st.sampled_from(["0", "x", "-1", "\\pi", "A"]))
def test_a_box_that_shows_something_is_a_box(parts, visible):
    assert BOXED.score("\\boxed{" + "".join(parts) + visible + "}").reward == 1.0


@settings(max_examples=40, deadline=None)
@given(value=st.integers(-999, 999), after=st.sampled_from(["", " The answer is {v}.", " {v}"]))
def test_a_box_inside_think_is_not_a_box(value, after):
    completion = f"<think>\\boxed{{{value}}}</think>" + after.format(v=value)
    assert BOXED.score(completion).reward == 0.0
