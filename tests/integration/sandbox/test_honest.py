"""Honest code that must keep passing through the judge's boundary: objects the candidate returns (through
handles), arguments it mutates, modules it imports that the tests use, pytest-style and exception-expecting
tests. Each also checks a wrong variant does not pass, so none of these can pass vacuously."""

import pytest

from sandbox import Sandbox


@pytest.fixture(scope="module")
def sb():
    with Sandbox(workers=2, timeout=10.0) as box:
        yield box


def verdicts(sb, right, wrong, tests, **kw):
    good, bad = sb.run_tests(right, tests, **kw), sb.run_tests(wrong, tests, **kw)
    assert good.status == "pass", good
    assert bad.status != "pass", bad
    return good


def test_leetcode_class_solution_with_methods(sb):
    right = ("class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
             "        for i, x in enumerate(nums):\n            if target - x in seen:\n"
             "                return [seen[target - x], i]\n            seen[x] = i\n")
    wrong = "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 0]\n"
    verdicts(sb, right, wrong, ["assert Solution().twoSum([2, 7, 11, 15], 9) == [0, 1]",
                                "s = Solution()\nassert s.twoSum([3, 2, 4], 6) == [1, 2]"])


def test_stateful_object_across_calls(sb):
    right = ("from collections import OrderedDict\nclass LRUCache:\n    def __init__(self, capacity):\n"
             "        self.cap, self.d = capacity, OrderedDict()\n    def get(self, k):\n"
             "        if k not in self.d:\n            return -1\n        self.d.move_to_end(k)\n        return self.d[k]\n"
             "    def put(self, k, v):\n        self.d[k] = v\n        self.d.move_to_end(k)\n"
             "        if len(self.d) > self.cap:\n            self.d.popitem(last=False)\n")
    wrong = right.replace("last=False", "last=True")
    tests = ("c = LRUCache(2)\nc.put(1, 1)\nc.put(2, 2)\nassert c.get(1) == 1\nc.put(3, 3)\nassert c.get(2) == -1\n"
             "c.put(4, 4)\nassert c.get(1) == -1\nassert c.get(3) == 3\nassert c.get(4) == 4\n")
    assert verdicts(sb, right, wrong, tests).passed == 5


def test_linked_nodes_are_walked_through_handles(sb):
    node = "class ListNode:\n    def __init__(self, val=0, next=None):\n        self.val, self.next = val, next\n"
    right = node + ("def build(xs):\n    head = None\n    for x in reversed(xs):\n        head = ListNode(x, head)\n"
                    "    return head\ndef reverse(head):\n    prev = None\n    while head:\n"
                    "        head.next, prev, head = prev, head, head.next\n    return prev\n")
    wrong = right.replace("return prev", "return head")
    tests = ("def walk(n):\n    out = []\n    while n is not None:\n        out.append(n.val)\n        n = n.next\n"
             "    return out\nassert walk(reverse(build([1, 2, 3]))) == [3, 2, 1]\n")
    verdicts(sb, right, wrong, tests)


def test_generators_dataclasses_str_and_len(sb):
    right = ("from dataclasses import dataclass\n@dataclass\nclass Point:\n    x: int\n    y: int\n"
             "def evens(n):\n    yield from range(0, n, 2)\ndef origin():\n    return Point(0, 0)\n")
    wrong = right.replace("range(0, n, 2)", "range(1, n, 2)")
    tests = ("assert list(evens(7)) == [0, 2, 4, 6]\nassert sum(evens(5)) == 6\np = origin()\n"
             "assert (p.x, p.y) == (0, 0)\nassert str(p) == 'Point(x=0, y=0)'\n")
    verdicts(sb, right, wrong, tests)


def test_in_place_mutation_of_arguments_is_seen_by_the_tests(sb):
    right = ("class Solution:\n    def moveZeroes(self, nums):\n        nz = [x for x in nums if x]\n"
             "        nums[:] = nz + [0] * (len(nums) - len(nz))\ndef tally(counts, word):\n"
             "    counts[word] = counts.get(word, 0) + 1\n")
    wrong = right.replace("nz + [0]", "[0] + nz + [0] * 0 + [0]")
    tests = ("nums = [0, 1, 0, 3, 12]\nassert Solution().moveZeroes(nums) is None\nassert nums == [1, 3, 12, 0, 0]\n"
             "d = {}\ntally(d, 'a')\ntally(counts=d, word='a')\nassert d == {'a': 2}\n")
    verdicts(sb, right, wrong, tests)


def test_modules_the_solution_imported_are_the_judges_own(sb):
    right = "import math, collections\ndef hyp(a, b):\n    return math.hypot(a, b)\ndef freq(s):\n    return collections.Counter(s)\n"
    wrong = right.replace("math.hypot(a, b)", "a + b")
    tests = "assert math.isclose(hyp(3, 4), 5.0)\nassert freq('aab') == collections.Counter({'a': 2, 'b': 1})\n"
    verdicts(sb, right, wrong, tests)


def test_pytest_style_tests_with_solution_imports_and_raises(sb):
    right = ("def safe_div(a, b):\n    if b == 0:\n        raise ZeroDivisionError('b is zero')\n    return a / b\n")
    wrong = "def safe_div(a, b):\n    return 0 if b == 0 else a / b\n"
    tests = ("import pytest\nfrom solution import safe_div\n\ndef test_div():\n    assert safe_div(6, 3) == 2\n\n"
             "def test_zero():\n    with pytest.raises(ZeroDivisionError, match='zero'):\n        safe_div(1, 0)\n")
    assert verdicts(sb, right, wrong, tests).passed == 2


def test_tests_that_expect_an_exception_by_type(sb):
    right = "class NegativeError(ValueError):\n    pass\ndef sqrt_int(n):\n    if n < 0:\n        raise NegativeError('negative')\n    return int(n ** 0.5)\n"
    wrong = "def sqrt_int(n):\n    return int(abs(n) ** 0.5)\n"
    tests = ("assert sqrt_int(9) == 3\ntry:\n    sqrt_int(-1)\n    assert False, 'should raise'\n"
             "except ValueError as e:\n    assert 'negative' in str(e)\n")
    verdicts(sb, right, wrong, tests)


def test_numpy_answers_travel_as_plain_data(sb):
    pytest.importorskip("numpy")
    probe = sb.run_tests("import numpy\ndef f():\n    return 1\n", ["assert f() == 1"])
    if probe.status == "load_error":  # e.g. a thin venv whose site-packages lie outside the sandbox's read-only set
        pytest.skip(f"numpy does not load inside the sandbox here: {probe.detail}")
    right = "import numpy as np\ndef scaled(xs, k):\n    return np.array(xs) * k\n"
    wrong = right.replace("* k", "+ k")
    tests = "assert scaled([1, 2], 3) == [3, 6]\nassert np.allclose(scaled([1.5], 2), [3.0])\n"
    verdicts(sb, right, wrong, tests)
