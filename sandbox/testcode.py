"""Prepare the dataset's trusted test code for the judge: rewrite its checks, and read which names it
takes from the candidate. Pure functions over the AST; nothing here runs code.

Names (why the judge, not the child, decides): the tests mean by a name what Python would give them if
they were the only code in the module, so a name the tests define anywhere (def, class, import,
assignment, argument, loop or `except ... as` target) or a builtin is *theirs*; only names they read but
never bind are `free` and may come from the candidate. The candidate can therefore never replace `check`,
`abs`, `all`, `sorted`, `range`, ... under the tests. `from solution import f, g` in the tests (KodCode,
pytest style) is dropped and marks f and g as the candidate's.

Rewrites: every `assert c, m` becomes `if not c: __sbx_fail__(i, m)` / `else: __sbx_ok__(i)` with `i` the
statement's number (counts checks that ran, see remote.Checks; independent of `python -O`; the candidate cannot patch AssertionError in another process);
`except T` becomes `except __sbx_exc__(T)`; `pytest.raises(...)` becomes `__sbx_raises__(...)` (remote.py
says why). `call_check` and `test_functions` tell the judge what to call after the module ran, the way
pytest or HumanEval's harness would: `check(candidate)` when the tests define `check` but never call it,
and every top-level `test*` function without required arguments that the tests do not call themselves
(calls under `if __name__ == "__main__":` do not count: that block never runs here).
What this module does NOT do: find checks that are not `assert` statements (`unittest.TestCase` methods'
`self.assertEqual`, `if f(x) != y: raise ...`: such tests end as `no_checks`), `from solution import *`,
or rewrite `except*` clauses.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from types import CodeType

FILENAME = "tests.py"
SOLUTION_MODULES = ("solution",)
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class Prepared:
    code: CodeType
    free: frozenset[str]          # read by the tests, bound by neither them nor builtins: the candidate's
    bound: frozenset[str]         # every name the tests bind somewhere: always theirs
    call_check: bool              # tests define `check` and never call it
    test_functions: tuple[str, ...]


class _Rewriter(ast.NodeTransformer):
    def __init__(self):
        self.from_solution: set[str] = set()
        self.sites = 0

    def _site(self) -> ast.Constant:
        self.sites += 1
        return ast.Constant(self.sites - 1)

    def visit_Assert(self, node: ast.Assert):
        self.generic_visit(node)
        at = self._site()
        msg = node.msg if node.msg is not None else ast.Constant(None)
        fail = ast.Expr(ast.Call(ast.Name("__sbx_fail__", ast.Load()), [at, msg], []))
        ok = ast.Expr(ast.Call(ast.Name("__sbx_ok__", ast.Load()), [at], []))
        return ast.copy_location(ast.If(ast.UnaryOp(ast.Not(), node.test), [fail], [ok]), node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        self.generic_visit(node)
        if node.type is not None:
            node.type = ast.Call(ast.Name("__sbx_exc__", ast.Load()), [node.type], [])
        return node

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "raises" and isinstance(f.value, ast.Name) \
                and f.value.id == "pytest":
            node.func = ast.Name("__sbx_raises__", ast.Load())
            node.args.insert(0, self._site())
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.module in SOLUTION_MODULES and node.level == 0 and all(a.name != "*" for a in node.names):
            self.from_solution.update(a.asname or a.name for a in node.names)
            return ast.copy_location(ast.Pass(), node)
        return node


def _bound_and_read(tree: ast.AST) -> tuple[set[str], set[str]]:
    bound, read = set(), set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            (read if isinstance(n.ctx, ast.Load) else bound).add(n.id)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(n.name)
        elif isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, ast.alias):
            bound.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.MatchAs | ast.MatchStar) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            bound.add(n.rest)
    return bound, read


def _is_main_guard(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and any(isinstance(n, ast.Name) and n.id == "__name__"
                                            for n in ast.walk(stmt.test))


def _called_at_top(tree: ast.Module) -> set[str]:
    """Names called by module-level statements that run here (not inside defs, not under a main guard)."""
    called = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) or _is_main_guard(stmt):
            continue
        for n in ast.walk(stmt):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                called.add(n.func.id)
    return called


def _no_required_args(fn: ast.FunctionDef) -> bool:
    a = fn.args
    return (len(a.posonlyargs) + len(a.args) == len(a.defaults) and not fn.decorator_list
            and all(d is not None for d in a.kw_defaults))


def prepare(source: str) -> Prepared:
    """Parse and rewrite one block of test code. Raises SyntaxError for test code that does not parse."""
    tree = ast.parse(source, FILENAME)
    rw = _Rewriter()
    tree = ast.fix_missing_locations(rw.visit(tree))
    bound, read = _bound_and_read(tree)
    free = {n for n in read - bound - _BUILTINS if not n.startswith("__")} | rw.from_solution
    defs = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    called = _called_at_top(tree)
    call_check = any(d.name == "check" for d in defs) and "check" not in called
    tests = tuple(dict.fromkeys(d.name for d in defs if d.name.startswith("test") and d.name not in called
                                and _no_required_args(d)))
    return Prepared(compile(tree, FILENAME, "exec"), frozenset(free), frozenset(bound), call_check, tests)
