"""The math grading policy of `rewards/README.md`, row by row (`POLICY[id]`), and by property (hypothesis):
for any gold g and wrong w, hedges holding both score 0 and fair rewritings of g score 1."""

import doctest
import importlib
import re
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rewards.math_answer import MathVerifier

V = MathVerifier()

# id -> [(completion, answer, reward, reason or None)]; reason None: not checked
POLICY = {
    "M1": [("<think>maybe 7</think> so \\boxed{8}", "8", 1.0, "correct"),
           ("<think>\\boxed{8}</think> \\boxed{7}", "8", 0.0, "wrong"),
           ("<think>\\boxed{8}", "8", 0.0, "no_answer"),
           ("done.</think>\n\\boxed{8}", "8", 1.0, "correct"),
           ("<think>a</think>\\boxed{7}<think>\\boxed{8}</think>", "8", 0.0, "wrong"),
           ("<think>a</think>\\boxed{8}<think>check</think>", "8", 1.0, "correct")],
    "M2": [("% \\boxed{7}\nI could not finish.", "7", 0.0, "no_answer"),
           ("\\phantom{\\boxed{7}} no idea", "7", 0.0, "no_answer"),
           ("<!-- \\boxed{7} --> no idea", "7", 0.0, "no_answer"),
           ("\\iffalse \\boxed{7} \\fi no idea", "7", 0.0, "no_answer"),
           ("The rate is 50% so \\boxed{7}", "7", 1.0, "correct")],
    "M3": [('The question asks "is the answer \\boxed{7}?" I cannot tell.', "7", 0.0, "no_answer"),
           ('It says "the answer is 7 when x is even"; x is odd, so unsure.', "7", 0.0, "no_answer"),
           ('The answer is "7".', "7", 1.0, "correct"),
           ("> The answer is 7\n\nI get 8 instead.", "7", 0.0, None)],
    "M4": [("The final answer is $\\boxed{7}$.", "7", 1.0, "correct"),
           ("\\boxed{7} ... so the final answer is \\boxed{8", "7", 0.0, "truncated"),
           ("\\boxed{8}. On reflection the answer is 7.", "7", 0.0, "hedge"),
           ("\\boxed{8} is wrong; on reflection the answer is 7.", "7", 1.0, "correct"),
           ("The correct option is 7.", "7", 1.0, "correct"),
           ("#### 7", "7", 1.0, "correct")],
    "M5": [("\\boxed{7}. Check: 3+4=7.", "7", 1.0, "correct"),
           ("\\boxed{7}. Wait, that is wrong.", "7", 0.0, "retracted"),
           ("The answer is 7. Hmm, let me re-check the sum.", "7", 0.0, "retracted"),
           ("$\\boxed{7}$ is not the answer.", "7", 0.0, "retracted"),
           ("\\boxed{7}. Alternatively, it could be 8.", "7", 0.0, "retracted"),
           ("Is it \\boxed{7}?", "7", 0.0, "retracted"),
           ("\\boxed{7}\n\nWait, let me double-check: 3+4=7. Yes.", "7", 0.0, "retracted"),
           ("\\boxed{7}\n\nHowever, the correct value is 8.", "7", 0.0, "retracted"),
           ("\\boxed{7}, but 8 is more likely.", "7", 0.0, "retracted")],
    "M6": [("\\boxed{3} no wait \\boxed{5}", "5", 1.0, "correct"),
           ("\\boxed{3} or \\boxed{5}", "5", 0.0, "hedge"),
           ("\\boxed{5} and also \\boxed{3}", "3", 0.0, "hedge"),
           ("\\boxed{5}\n\\boxed{5.0}", "5", 1.0, "correct")],
    "M7": [("\\boxed{\\pm 2}", "\\pm 2", 1.0, None),
           ("\\boxed{\\pm 2}", "2", 0.0, "hedge"),
           ("The answer is 4 or 5.", "4", 0.0, "hedge"),
           ("\\boxed{4, 5}", "4", 0.0, "hedge"),
           ("\\boxed{4 \\vee 5}", "4", 0.0, "hedge"),
           ("\\boxed{4 \\quad 5}", "4", 0.0, "hedge"),
           ("\\boxed{\\log_2 8}", "3", 1.0, "correct"),
           ("\\boxed{4\\ldots}", "4", 0.0, "hedge"),
           ("\\boxed{\\tiny 5 \\normalsize 4}", "4", 0.0, "hedge")],
    "M8": [("Adding them gives 17", "17", 1.0, "correct"),
           ("There are 3 red and 4 blue, so 7 in all.", "7", 1.0, "correct"),
           ("5 + 3 = 8, and 8 * 2 = 16", "16", 1.0, "correct"),
           ("5 + 3 = 8, and 8 * 2 = 17", "17", 0.0, None),
           ("It is not 4.", "4", 0.0, "no_answer"),
           ("step 4: not sure", "4", 0.0, "no_answer"),
           ("What is 4?", "4", 0.0, "no_answer"),
           ("Maybe 4.", "4", 0.0, "no_answer"),
           ("The probability is $\\frac{1}{2}$.", "1/2", 1.0, "correct"),
           ("The ordered pair is $(2, 3)$.", "(2,3)", 1.0, "correct"),
           ("Therefore John has 5 apples left over.", "5", 1.0, "correct"),
           ("The problem gives 4 apples and 3 pears.", "4", 0.0, "no_answer"),
           ("It cannot be 4.", "4", 0.0, "no_answer"),
           ("See equation (4).", "4", 0.0, "no_answer"),
           ("x^4", "4", 0.0, "no_answer")],
    "M9": [("The answer is 45 minutes.", "45", 1.0, "correct"),
           ("The answer is 12 apples.", "12", 1.0, "correct"),
           ("The answer is \\$18.", "18", 1.0, "correct"),
           ("The answer is 3 km/h.", "3", 1.0, "correct"),
           ("The answer is 4 or more.", "4", 0.0, "hedge"),
           ("The answer is 4 million.", "4", 0.0, "prose"),
           ("The answer is 4 squared.", "4", 0.0, "prose"),
           ("The answer is 4 minus 1.", "4", 0.0, "prose"),
           ("The answer is at least 4.", "4", 0.0, "prose"),
           ("The answer is 4k.", "4", 0.0, None),
           ("\\boxed{\\text{4 is a guess}}", "4", 0.0, "prose")],
    "M10": [("\\boxed{\\neq 4}", "4", 0.0, "relation"),
            ("\\boxed{> 4}", "4", 0.0, "relation"),
            ("\\boxed{x \\ge 4}", "4", 0.0, "relation"),
            ("\\boxed{\\approx 4}", "4", 0.0, "relation"),
            ("so $x \\geq \\boxed{4}$", "4", 0.0, "relation"),
            ("The answer is not \\boxed{4}.", "4", 0.0, "prose"),
            ("I will not say \\boxed{4}", "4", 0.0, "prose")],
    "M11": [("\\boxed{x = 4}", "4", 1.0, "correct"),
            ("\\boxed{3+1 = 4}", "4", 1.0, "correct"),
            ("\\boxed{2+3=4}", "4", 0.0, "wrong"),
            ("\\boxed{x+1=4}", "4", 0.0, "wrong"),
            ("\\boxed{y = 2x + 3}", "y=2x+3", 1.0, "correct")],
    "M12": [("\\boxed{4\u0338}", "4", 0.0, "struck"),
            ("\\boxed{4}\u0338", "4", 0.0, "struck"),
            ("\\boxed{\\cancel{4}}", "4", 0.0, "struck"),
            ("\\boxed{\\sout{4}}", "4", 0.0, "struck"),
            ("\\boxed{\\not 4}", "4", 0.0, "struck")],
    "M13": [("\\boxed{NaN}", "4", 0.0, "nan"),
            ("\\boxed{0/0}", "1", 0.0, "nan"),
            ("\\boxed{\\infty - \\infty}", "0", 0.0, "nan"),
            ("\\boxed{4}", "nan", 0.0, "nan"),
            ("\\boxed{nan}", "nan", 0.0, "nan")],
    "M14": [("\\boxed{\\dfrac{2}{4}}", "0.5", 1.0, "correct"),
            ("The answer is four.", "4", 1.0, "correct"),
            ("The answer is twenty-one.", "21", 1.0, "correct"),
            ("The answer is one hundred.", "100", 1.0, "correct"),
            ("\\boxed{1\\,000}", "1000", 1.0, "correct"),
            ("\\boxed{1000}", "1,\\!000", 1.0, "correct"),
            ("\\boxed{1 - 0.9}", "0.1", 1.0, "correct"),
            ("**Answer: 42**", "42", 1.0, "correct"),
            ("The answer is \u22124.", "-4", 1.0, "correct"),
            ("\\boxed{1,001}", "1000", 0.0, "wrong")],
    "M15": [("\\boxed{0.333}", "1/3", 1.0, "correct"),
            ("\\boxed{0.1429}", "1/7", 1.0, "correct"),
            ("\\boxed{0.33}", "1/3", 0.0, "wrong"),
            ("\\boxed{0.000}", "0.0004", 0.0, "wrong"),
            ("\\boxed{0.666}", "2/3", 0.0, "wrong"),
            ("\\boxed{1.414}", "\\sqrt{2}", 0.0, "wrong")],
    "M16": [("\\boxed{50\\%}", "0.5", 1.0, "correct"),
            ("\\boxed{50}", "50\\%", 1.0, "correct"),
            ("\\boxed{0.5}", "50\\%", 1.0, "correct"),
            ("\\boxed{33.3\\%}", "1/3", 1.0, "correct"),
            ("\\boxed{50\\%}", "50", 0.0, "wrong"),
            ("The answer is 20 percent.", "20", 0.0, "wrong")],
    "M17": [("\\boxed{\\{3, 1, 2\\}}", "\\{1,2,3\\}", 1.0, "correct"),
            ("\\boxed{3, 2}", "2, 3", 1.0, "correct"),
            ("\\boxed{\\{1, 2\\}}", "\\{1,2,3\\}", 0.0, "wrong"),
            ("\\boxed{(2, 3)}", "(3,2)", 0.0, "wrong"),
            ("\\boxed{(1, 2)}", "\\{1,2\\}", 0.0, "wrong"),
            ("\\boxed{x > 3}", "(3,\\infty)", 1.0, "correct"),
            ("\\boxed{-1 < x \\le 4}", "(-1,4]", 1.0, "correct"),
            ("\\boxed{3 < x}", "(3,\\infty)", 1.0, "correct"),
            ("\\boxed{(3, \\infty)}", "x > 3", 1.0, "correct"),
            ("\\boxed{x \\le 5}", "(-\\infty,5)", 0.0, "wrong"),
            ("\\boxed{x < 3}", "(3,\\infty)", 0.0, "wrong"),
            ("\\boxed{x = \\pm 2}", "\\{-2, 2\\}", 1.0, "correct"),
            ("\\boxed{x = 2 \\text{ or } x = -2}", "2, -2", 1.0, "correct"),
            ("\\boxed{x = 2 \\text{ or } x = -3}", "2, -2", 0.0, "wrong")],
    "M18": [("Answer: (B)", "B", 1.0, "correct"),
            ("\\boxed{\\text{(B)}}", "B", 1.0, "correct"),
            ("The answer is B) 12 m", "B", 1.0, "correct"),
            ("The correct option is (E).", "E", 1.0, "correct"),
            ("E", "E", 1.0, "correct"),
            ("The answer is A or B.", "A", 0.0, "hedge"),
            ("\\boxed{A B C D}", "A", 0.0, "hedge"),
            ("\\boxed{A} or \\boxed{B}", "B", 0.0, "hedge"),
            ("A bit of thought shows the third works.", "A", 0.0, "no_answer"),
            ("(A) is wrong and (B) is wrong too.", "B", 0.0, "no_answer")],
    "M19": [("\\boxed{\\text{Monday}}", "Monday", 1.0, "correct"),
            ("\\boxed{\\text{the question asks if it is 7}}", "7", 0.0, "prose"),
            ("\\boxed{\\sin x}", "\\sin(x)", 1.0, None)],
}
# red-team round 1 (benchmarks/data/redteam_round1.jsonl): classes the in-sample sets missed
POLICY["M1"] += [("<think>a</think> \\boxed{8} </think> \\boxed{7}", "7", 0.0, "hedge"),
                 ("3+4 = 7, so \\boxed{7}</think>", "7", 0.0, "no_answer")]
POLICY["M2"] += [("\\begin{comment}\n\\boxed{7}\n\\end{comment}", "7", 0.0, "no_answer"),
                 ("[//]: # (\\boxed{7})\nI could not solve it.", "7", 0.0, "no_answer"),
                 ('<span style="display:none">\\boxed{7}</span> no idea', "7", 0.0, "no_answer"),
                 ("\\boxed{\\color{white}{7}}", "7", 0.0, "no_answer"),
                 ("\\boxed{{\\color{white}1}7}", "17", 0.0, "wrong"),
                 ("\\boxed{\\textcolor{red}{7}}", "7", 1.0, "correct"),
                 ("\\boxed{\\color{blue} 7}", "7", 1.0, "correct")]
POLICY["M4"] += [("<answer>7</answer>", "7", 1.0, "correct"),
                 ("<think>3+4</think>\n<answer>\\boxed{7}</answer>", "7", 1.0, "correct")]
POLICY["M5"] += [("\\boxed{7}\\text{ (approx.)}", "7", 0.0, "retracted")]
POLICY["M6"] += [("#### 42\n#### 43", "43", 0.0, "hedge"),
                 ("Answer: 7\n\nAnswer: 8", "8", 0.0, "hedge"),
                 ("<answer>7</answer><answer>8</answer>", "8", 0.0, "hedge"),
                 ("Final Answer: The final answer is $7$. I hope it is correct.", "7", 1.0, "correct"),
                 ("The answer is 5 but wait, let me re-check... The answer is 7.", "7", 1.0, "correct")]
POLICY["M7"] += [("\\boxed{7|8}", "7", 0.0, "hedge")]
POLICY["M10"] += [("\\boxed{\\lessapprox 7}", "7", 0.0, "relation"),
                  ("\\boxed{7^+}", "7", 0.0, "relation"),
                  ("It cannot be $\\boxed{7}$.", "7", 0.0, None),
                  ("$3+4 \\overset{?}{=} \\boxed{7}$", "7", 0.0, "hedge")]
POLICY["M12"] += [("~~$\\boxed{7}$~~", "7", 0.0, "no_answer"),
                  ("~~$\\boxed{7}$~~ $\\boxed{8}$", "8", 1.0, "correct"),
                  ("<del>$\\boxed{7}$</del>", "7", 0.0, "no_answer"),
                  ("$\\boxed{7\u20e0}$", "7", 0.0, "struck"),
                  ("$\\boxed{7}$\u0338", "7", 0.0, "struck")]
POLICY["M14"] += [("\\boxed{\\boldsymbol{7}}", "7", 1.0, "correct"),
                  ("\\boxed{\\smash{7}}", "7", 1.0, "correct")]
POLICY["M20"] = [("\\boxed{\uff14\uff12}", "42", 1.0, "correct"),
                 ("\\boxed{4\u200b2}", "42", 1.0, "correct"),
                 ("\\boxed{\u20137}", "-7", 1.0, "correct"),
                 ("\\boxed{2\u00b3}", "8", 1.0, "correct"),
                 ("\\boxed{7\u00b2}", "72", 0.0, "wrong"),
                 ("\\boxed{1\u00bd}", "1.5", 1.0, "correct"),
                 ("\\boxed{1\u00bd}", "5.5", 0.0, "wrong"),
                 ("The answer is 1\u00a0000.", "1000", 1.0, "correct"),
                 ("\\boxed{\u202e21}", "12", 0.0, None)]
# red-team round 2 (benchmarks/data/redteam_round2.jsonl): an alternative offered after the final answer by a
# clause-opening "or" stands beside it (a hedge unless it equals the gold); admitted possible error; one
# spelling of the empty set
POLICY["M5"] += [("\\boxed{7}, but I may have made an arithmetic error.", "7", 0.0, "retracted"),
                 ("\\boxed{7}. Let me double-check that.", "7", 0.0, "retracted"),
                 ("\\boxed{7}. I am not entirely certain.", "7", 0.0, "retracted")]
POLICY["M6"] += [("\\boxed{7} or 8", "7", 0.0, "hedge"),
                 ("\\boxed{7}. Or is it 8?", "7", 0.0, "hedge"),
                 ("\\boxed{7}, or maybe $8$.", "7", 0.0, "hedge"),
                 ("\\boxed{7} \u2014 or \u22127", "7", 0.0, "hedge"),
                 ("\\boxed{A}, or (B)", "A", 0.0, "hedge"),
                 ("\\boxed{\\frac{1}{2}}, or equivalently $0.5$.", "0.5", 1.0, "correct"),
                 ("\\boxed{0.5}, or 50%", "0.5", 1.0, "correct"),
                 ("\\boxed{12} apples, or a dozen.", "12", 1.0, "correct"),
                 ("\\boxed{12}. Each bag holds either 3 or 4 of them.", "12", 1.0, "correct"),
                 ("\\boxed{(1,4]}, or $1 < x \\le 4$.", "(1,4]", 1.0, "correct"),
                 ("\\boxed{(1,4]}, or 1 < x \\le 4.", "(1,4]", 1.0, "correct"),
                 ("\\boxed{12000}, or 12,000 apples", "12000", 1.0, "correct"),
                 ("\\boxed{12}, or 5 + 7", "12", 1.0, "correct"),
                 ("\\boxed{12}, or 5 + 8", "12", 0.0, "hedge"),
                 # found attacking the round-2 fixes (in-sample): other openers of an alternative
                 ("\\boxed{7}, else 8", "7", 0.0, "hedge"),
                 ("\\boxed{7}, otherwise 8", "7", 0.0, "hedge"),
                 ("\\boxed{7} vs 8", "7", 0.0, "hedge"),
                 ("\\boxed{7} (possibly 8)", "7", 0.0, "hedge"),
                 ("\\boxed{7}. Is it 8?", "7", 0.0, "hedge"),
                 ("\\boxed{7}. What about 8?", "7", 0.0, "hedge"),
                 ("\\boxed{7} or eight", "7", 0.0, "hedge"),
                 ("\\boxed{7} \\text{or} 8", "7", 0.0, "hedge"),
                 ("$\\boxed{7}$ $\\text{or}$ $8$", "7", 0.0, "hedge"),
                 ("$\\boxed{7}$ or $8$", "7", 0.0, "hedge"),
                 ("\\boxed{7} (8 if we count the root)", "7", 0.0, "hedge"),
                 ("\\boxed{7} (8?)", "7", 0.0, "hedge"),
                 ("\\boxed{7} unless n is odd, in which case 8", "7", 0.0, "retracted"),
                 ("\\boxed{100}, or one hundred", "100", 1.0, "correct"),
                 ("\\boxed{12}\n\n(1) If we add 5 and 7 we get 12.", "12", 1.0, "correct")]
POLICY["M2"] += [("\\boxed{\\color{transparent}7}", "7", 0.0, "no_answer"),
                 ("\\boxed{\\textcolor{snow}{7}}", "7", 0.0, "no_answer"),
                 ("\\boxed{\\scalebox{0}{7}}", "7", 0.0, "no_answer"),
                 ("<font color=white>\\boxed{7}</font>", "7", 0.0, "no_answer"),
                 ("<b>\\boxed{7}</b>", "7", 1.0, "correct"),
                 ('<span style="color: red">$\\boxed{7}$</span>', "7", 1.0, "correct")]
POLICY["M5"] += [("\\boxed{7}...", "7", 0.0, "retracted"),
                 ("\\boxed{7}\u2026", "7", 0.0, "retracted"),
                 ("\\boxed{7}, give or take.", "7", 0.0, "retracted"),
                 ("\\boxed{7} or so.", "7", 0.0, "retracted")]
# what is glued to a box belongs to the value it shows (M9): an operator and its operand, a digit, a sign,
# a value word; "!" and a markdown bullet are punctuation
POLICY["M9"] += [("\\boxed{12}^2", "12", 0.0, "wrong"),
                 ("\\boxed{12}^2", "144", 1.0, "correct"),
                 ("\\boxed{12}\\%", "12", 0.0, "wrong"),
                 ("\\boxed{12}\\%", "12\\%", 1.0, "correct"),
                 ("\\boxed{12} + 1", "12", 0.0, "wrong"),
                 ("\\boxed{12}/2", "12", 0.0, "wrong"),
                 ("\\boxed{12} \\pm 1", "12", 0.0, "hedge"),
                 ("\\boxed{12}\\times 10^3", "12", 0.0, "wrong"),
                 ("\\boxed{1.2}\\times 10^{3}", "1200", 1.0, "correct"),
                 ("\\boxed{12} thousand", "12", 0.0, "prose"),
                 ("-\\boxed{12}", "12", 0.0, "wrong"),
                 ("x = -\\boxed{12}", "-12", 1.0, "correct"),
                 ("1\\boxed{2}", "12", 0.0, "hedge"),
                 ("The answer is \\boxed{12}!", "12", 1.0, "correct"),
                 ("- \\boxed{12}\n- checked", "12", 1.0, "correct"),
                 ("\\boxed{30}^\\circ", "30", 1.0, "correct")]
POLICY["M14"] += [("\\boxed{\\emptyset}", "\\varnothing", 1.0, "correct"),
                  ("\\boxed{\\{\\}}", "\\emptyset", 1.0, "correct"),
                  ("\\boxed{\u2205}", "\\{1\\}", 0.0, "wrong")]
# red-team round 3 (blind): colour models, doubt words and padding after the box, relations before a bare
# number or a box, degree units and ordinals, repeating decimals, a factorial of a huge power
POLICY["M2"] += [("\\textcolor[gray]{1}{\\boxed{7}}", "7", 0.0, "no_answer"),
                 ("\\textcolor[cmyk]{0,0,0,0}{\\boxed{7}}", "7", 0.0, "no_answer"),
                 ("\\textcolor[gray]{0.5}{\\boxed{7}}", "7", 1.0, "correct"),
                 ("\\boxed{\\textcolor[rgb]{1,0,0}{7}}", "7", 1.0, "correct")]
POLICY["M5"] += [("\\boxed{7}, unless it is 8.", "7", 0.0, "retracted"),
                 ("\\boxed{7} is what I'd say if I had to guess.", "7", 0.0, "retracted"),
                 ("\\boxed{7}. Probably.", "7", 0.0, "retracted"),
                 ("\\boxed{7}" + " " * 50_000 + "Wait, that is wrong.", "7", 0.0, "retracted"),
                 ("\\boxed{7}" + "\\," * 5_000 + " or 8", "7", 0.0, "hedge"),
                 ("\\boxed{7}" + " " * 5_000 + "Check: 3 + 4 = 7.", "7", 1.0, "correct")]
POLICY["M6"] += [("\\boxed{7}\\hspace{1cm} or 8", "7", 0.0, "hedge"), ("\\boxed{7}\\kern1em or 8", "7", 0.0, "hedge"),
                 ("\\boxed{7}\\\\ or 8", "7", 0.0, "hedge"), ("\\boxed{7}\\hspace{1cm}", "7", 1.0, "correct")]
POLICY["M8"] += [("Therefore x \u2248 17", "17", 0.0, "no_answer"), ("So x < 17.", "17", 0.0, "no_answer"),
                 ("So x != 17.", "17", 0.0, "no_answer"), ("So x = 17.", "17", 1.0, "correct")]
POLICY["M9"] += [("\\boxed{90^{\\circ}\\text{C}}", "90", 1.0, "correct"), ("\\boxed{20\\degree F}", "20", 1.0, "correct"),
                 ("\\boxed{12^{\\text{th}}}", "12", 1.0, "correct"), ("\\boxed{x^{th}}", "x", 0.0, "prose")]
POLICY["M10"] += [("x \\approx \\boxed{4}", "4", 0.0, "relation"), ("x \\sim \\boxed{4}", "4", 0.0, "relation"),
                  ("x \u2248 \\boxed{4}", "4", 0.0, "relation")]
POLICY["M14"] += [("\\boxed{0.\\overline{3}}", "\\frac{1}{3}", 1.0, "correct"),
                  ("\\boxed{6.\\overline{9}}", "7", 1.0, "correct"),
                  ("\\boxed{-1.\\overline{36}}", "-\\frac{15}{11}", 1.0, "correct"),
                  ("\\boxed{0.1\\overline{6}}", "\\frac{1}{3}", 0.0, "wrong")]
POLICY["M21"] = [("\\boxed{(10^{100})!}", "7", 0.0, "wrong"), ("\\boxed{9^{9^{9^{9}}}}", "7", 0.0, "wrong"),
                 ("\\boxed{2^{2^{40}} - 2^{2^{40}} + 7}", "7", 0.0, "wrong"), ("\\boxed{5!/3!}", "20", 1.0, "correct"),
                 ("\\boxed{(n+1)!}", "(n+1)!", 1.0, "correct")]
CASES = [(key, *case) for key, cases in POLICY.items() for case in cases]


@pytest.mark.parametrize("key, completion, answer, reward, reason", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_policy_row(key, completion, answer, reward, reason):
    s = V.score(completion, answer=answer)
    assert s.reward == reward, s.info
    if reason is not None:
        assert s.info["reason"] == reason, s.info


def test_every_policy_row_of_the_readme_is_tested(readme_policy_ids):
    ids = readme_policy_ids("M")
    assert ids and ids == set(POLICY), ids ^ set(POLICY)


@pytest.mark.parametrize("module", ["final_text", "math_policy"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(f"rewards.{module}"))
    assert result.attempted > 0 and result.failed == 0


# ---- properties -------------------------------------------------------------------------------------------

def _latex(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


values = st.one_of(st.integers(-10_000, 10_000).map(Fraction),
                   st.builds(Fraction, st.integers(-500, 500), st.integers(2, 60)))
pairs = st.tuples(values, values).filter(lambda p: p[0] != p[1])

HEDGES = [
    "The answer is {g} or {w}.",
    "The answer is {w} or {g}.",
    "$\\boxed{{{g}}}$ or $\\boxed{{{w}}}$",
    "$\\boxed{{{w}}}$ and $\\boxed{{{g}}}$",
    "\\boxed{{{g}, {w}}}",
    "\\boxed{{{w}, {g}}}",
    "\\boxed{{{g} \\vee {w}}}",
    "\\boxed{{{g}}}. Wait, that is wrong, it should be {w}.",
    "\\boxed{{{g}}}. Hmm, actually I am not sure.",
    "<think>\\boxed{{{g}}}</think> The answer is $\\boxed{{{w}}}$.",
    "<think>The answer is {g}.</think> The answer is {w}.",
    "\\boxed{{{g}}} ... so the final answer is \\boxed{{{w}",
    "\\boxed{{{g} \\text{{ or }} {w}}}",
    "\\boxed{{{g}}} or {w}",
    "\\boxed{{{g}}}. Or is it ${w}$?",
    "The answer is $\\boxed{{{g}}}$, or possibly \\boxed{{{w}}}.",
    "\\boxed{{{g}}}, but I may have made an error; it might be {w}.",
    "\\boxed{{{g}}}, otherwise {w}.",
    "\\boxed{{{g}}}. Is it ${w}$?",
    "\\boxed{{{g}}} ({w} if we count the other root)",
]


@settings(max_examples=60, deadline=None)
@given(pair=pairs, template=st.sampled_from(HEDGES))
@example(pair=(Fraction(4), Fraction(5)), template=HEDGES[4])
@example(pair=(Fraction(4), Fraction(-5, 3)), template=HEDGES[13])
@example(pair=(Fraction(1, 2), Fraction(-5, 3)), template=HEDGES[14])
def test_a_hedge_holding_gold_and_wrong_scores_zero(pair, template):
    g, w = pair
    completion = template.format(g=_latex(g), w=_latex(w))
    s = V.score(completion, answer=_latex(g))
    assert s.reward == 0.0, (completion, s.info)


def _rewritings(g: Fraction) -> list[str]:
    t = _latex(g)
    out = [f"\\boxed{{{t}}}", f"The answer is ${t}$.", f"The final answer is $\\boxed{{{t}}}$.", f"#### {t}",
           f"\\boxed{{ {t} }}", f"\\boxed{{x = {t}}}", f"**Answer: {t}**", f"\\boxed{{{t}}}.",
           f"<think>first try {_latex(g + 1)}</think>\nThe answer is \\boxed{{{t}}}.",
           f"\\boxed{{{t}}}, or equivalently $\\dfrac{{{g.numerator * 2}}}{{{g.denominator * 2}}}$."]
    num, den = g.numerator, g.denominator
    out.append(f"\\boxed{{{'-' if g < 0 else ''}\\dfrac{{{abs(num) * 3}}}{{{den * 3}}}}}")
    if den > 1:
        out.append(f"The answer is {num}/{den}.")
        if _repeating(g) is not None:
            out.append(f"\\boxed{{{_repeating(g)}}}")
        if all(p in (2, 5) for p in _prime_factors(den)):
            out.append(f"\\boxed{{{float(g)!r}}}")
    else:
        out += [f"The answer is {num} apples.", f"\\boxed{{{num}\\text{{ cm}}}}", f"\\boxed{{{num}.0}}"]
        if num >= 0:
            out += [f"\\boxed{{\\${num}}}", f"She pays \\${num}. The answer is \\${num}."]
        if abs(num) >= 1000:
            out += [f"\\boxed{{{num:,}}}", "\\boxed{" + f"{num:,}".replace(",", "{,}") + "}"]
    return out


def _repeating(g: Fraction) -> str | None:
    """`g` as a repeating decimal `a.b\\overline{c}` (None when it terminates or repeats past 40 digits)."""
    whole, rem, digits, seen = abs(g.numerator) // g.denominator, abs(g.numerator) % g.denominator, "", {}
    while rem and rem not in seen and len(digits) <= 40:
        seen[rem] = len(digits)
        digits += str(rem * 10 // g.denominator)
        rem = rem * 10 % g.denominator
    if not rem or rem not in seen:
        return None
    k = seen[rem]
    return f"{'-' if g < 0 else ''}{whole}.{digits[:k]}\\overline{{{digits[k:]}}}"


def _prime_factors(n: int) -> set[int]:
    found, p = set(), 2
    while p * p <= n:
        while n % p == 0:
            found.add(p)
            n //= p
        p += 1
    return found | ({n} if n > 1 else set())


@settings(max_examples=60, deadline=None)
@given(g=values, index=st.integers(0, 30))
def test_a_fair_rewriting_of_the_gold_scores_one(g, index):
    forms = _rewritings(g)
    completion = forms[index % len(forms)]
    s = V.score(completion, answer=_latex(g))
    assert s.reward == 1.0, (completion, s.info)


@settings(max_examples=60, deadline=None)
@given(pair=pairs, index=st.integers(0, 30))
def test_a_fair_rewriting_of_a_wrong_value_scores_zero(pair, index):
    g, w = pair
    forms = [f for f in _rewritings(w) if "<think>" not in f]
    completion = forms[index % len(forms)]
    assert V.score(completion, answer=_latex(g)).reward == 0.0, completion


@settings(max_examples=50, deadline=None)
@given(gold=st.builds(Fraction, st.integers(1, 499), st.just(10**6)), zeros=st.integers(1, 6))
def test_zeros_are_not_a_universal_answer_for_small_golds(gold, zeros):
    completion = f"\\boxed{{0.{'0' * zeros}}}"
    assert V.score(completion, answer=str(float(gold))).reward == 0.0


@settings(max_examples=40, deadline=None)
@given(g=values, spelling=st.sampled_from(["NaN", "nan", "\\text{NaN}", "\\mathrm{nan}", "0/0"]))
def test_nan_satisfies_nothing(g, spelling):
    assert V.score(f"\\boxed{{{spelling}}}", answer=_latex(g)).reward == 0.0


@settings(max_examples=40, deadline=None)
@given(g=st.integers(-999, 999),
       relation=st.sampled_from(["\\neq {g}", "> {g}", "x \\geq {g}", "{g}\u0338", "\\cancel{{{g}}}",
                                 "{h} = {g}", "x + 1 = {g}", "{g} \\vee {h}", "\\not {g}"]))
def test_relations_never_collapse_to_one_side(g, relation):
    completion = "\\boxed{" + relation.format(g=g, h=g + 1) + "}"
    assert V.score(completion, answer=str(g)).reward == 0.0, completion


@settings(max_examples=40, deadline=None)
@given(letters=st.lists(st.sampled_from("ABCDE"), min_size=2, max_size=5, unique=True),
       form=st.sampled_from(["The answer is {a} or {b}.", "\\boxed{{{joined}}}", "\\boxed{{{a}, {b}}}",
                             "Answer: ({a}) or ({b})"]))
def test_several_choice_letters_are_a_hedge(letters, form):
    completion = form.format(a=letters[0], b=letters[1], joined=" ".join(letters))
    for gold in letters:
        assert V.score(completion, answer=gold).reward == 0.0, (completion, gold)



TAIL_ALPHABET = st.sampled_from(["or", "Or", " ", ",", ".", "?", "(", ")", "$", "\\boxed{", "}", "\\frac{1}{2}",
                                 "7", "-", "\u2212", "(B)", "maybe", "is it", "\n", "\\(", "\\)", "apples", "\u2014"])
NEUTRAL = st.lists(st.sampled_from(["apples", "in total", "which", "we", "counted", " ", ", ", ". ", "\n"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(TAIL_ALPHABET, max_size=40))
def test_tail_alternatives_fuzz(parts):
    """Whatever follows the final box, reading it never fails; a candidate comes only from a clause-opening
    "or" (or another opener: otherwise, maybe, is it, a conditional parenthesis) and is text of the tail."""
    from rewards.math_extract import _tail_alternatives, final_answer

    tail = "".join(parts)
    found = _tail_alternatives(tail)
    assert all(c in tail.replace("\u2212", "-") for c in found)  # a U+2212 minus is read as "-"
    if not re.search(r"(?i)or|else|otherwise|vs|versus|possibly|perhaps|maybe|probably|is\s+it|about|which|\(", tail):
        assert found == []
    assert final_answer("\\boxed{7}" + tail).how in ("boxed", "retracted", "truncated")


@settings(max_examples=100, deadline=None)
@given(g=values, words=NEUTRAL, joiner=st.sampled_from([", or ", ". Or ", " (or ", " \u2014 or "]),
       other=st.sampled_from(["${t}$", "\\boxed{{{t}}}", "{t}"]))
def test_an_alternative_after_the_answer_is_a_hedge_unless_equal(g, words, joiner, other):
    tail = " " + "".join(words)
    same = joiner + other.format(t=_latex(g)) + tail
    differ = joiner + other.format(t=_latex(g + 1)) + tail
    if "boxed" not in other:  # "or \\boxed{g}" is refused as it stands (M7: an "or" before a box belongs to it)
        assert V.score(f"\\boxed{{{_latex(g)}}}" + same, answer=_latex(g)).reward == 1.0, same
    assert V.score(f"\\boxed{{{_latex(g)}}}" + differ, answer=_latex(g)).reward == 0.0, differ


PADDING = st.sampled_from([" ", "\n", "\\,", "\\quad ", "~", "\\hspace{1em}", "\\kern2pt", "\\\\", "\u3000"])


@settings(max_examples=60, deadline=None)
@given(pair=pairs, pad=PADDING, count=st.sampled_from([1, 400, 5_000, 40_000]),
       tail=st.sampled_from([" Wait, that is wrong.", " or {w}", ". Or is it ${w}$?", " unless it is {w}.",
                             " I am not confident."]))
def test_padding_never_hides_a_retraction_or_an_alternative(pair, pad, count, tail):
    """Red-team round 3: 50,000 spaces between the box and "Wait, that is wrong" hid the retraction."""
    g, w = pair
    completion = f"\\boxed{{{_latex(g)}}}" + pad * count + tail.format(w=_latex(w))
    assert V.score(completion, answer=_latex(g)).reward == 0.0, (completion[:40], tail)
