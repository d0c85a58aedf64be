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
import symtable
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


def _at(node, like):
    """Give a new node `like`'s position (cheaper than fix_missing_locations over the whole tree)."""
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        setattr(node, attr, getattr(like, attr, None))
    return node


def _call(name: str, args: list, like) -> ast.Call:
    return _at(ast.Call(_at(ast.Name(name, ast.Load()), like), args, []), like)


class _Rewriter(ast.NodeTransformer):
    def __init__(self):
        self.from_solution: set[str] = set()
        self.sites = 0

    def _site(self, like) -> ast.Constant:
        self.sites += 1
        return _at(ast.Constant(self.sites - 1), like)

    def visit_Assert(self, node: ast.Assert):
        self.generic_visit(node)
        at = self._site(node)
        msg = node.msg if node.msg is not None else _at(ast.Constant(None), node)
        fail = _at(ast.Expr(_call("__sbx_fail__", [at, msg], node)), node)
        ok = _at(ast.Expr(_call("__sbx_ok__", [at], node)), node)
        return _at(ast.If(_at(ast.UnaryOp(ast.Not(), node.test), node), [fail], [ok]), node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        self.generic_visit(node)
        if node.type is not None:
            node.type = _call("__sbx_exc__", [node.type], node.type)
        return node

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "raises" and isinstance(f.value, ast.Name) \
                and f.value.id == "pytest":
            node.func = _at(ast.Name("__sbx_raises__", ast.Load()), f)
            node.args.insert(0, self._site(node))
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.module in SOLUTION_MODULES and node.level == 0 and all(a.name != "*" for a in node.names):
            self.from_solution.update(a.asname or a.name for a in node.names)
            return ast.copy_location(ast.Pass(), node)
        return node


def _bound_and_read(source: str) -> tuple[set[str], set[str]]:
    """Names bound anywhere (assigned, imported, parameters, def/class) and names read, from the symbol
    tables CPython's compiler builds (C code: far cheaper than walking the AST in Python)."""
    bound, read = set(), set()
    stack = [symtable.symtable(source, FILENAME, "exec")]
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        for sym in table.get_symbols():
            if sym.is_assigned() or sym.is_imported() or sym.is_parameter() or sym.is_namespace():
                bound.add(sym.get_name())
            if sym.is_referenced():
                read.add(sym.get_name())
    return bound, read


_FLAT_STATEMENTS = (ast.Assert, ast.Expr, ast.Pass)
_SCOPES_AND_BINDINGS = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)


def _flat_names(tree: ast.Module) -> tuple[set[str], set[str]] | None:
    """`_bound_and_read` for the usual block, a few asserts or expressions with no nested scope and no
    binding: nothing is bound and every name is read. None for anything else (the symbol tables decide).
    Why: building symbol tables in a freshly forked judge touches pages of its own (measured: ~100 page
    faults, ~0.3 ms of CPU per judge for three one-line asserts)."""
    if not all(isinstance(s, _FLAT_STATEMENTS) for s in tree.body):
        return None
    read = set()
    for node in ast.walk(tree):
        if isinstance(node, _SCOPES_AND_BINDINGS):
            return None
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                return None
            read.add(node.id)
    return set(), read


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
    names = _flat_names(tree)  # before the rewrite adds names of its own
    rw = _Rewriter()
    tree = rw.visit(tree)
    bound, read = names or _bound_and_read(source)
    bound -= rw.from_solution  # bound only by the dropped `from solution import ...`
    free = {n for n in read - bound - _BUILTINS if not n.startswith(("__", "."))} | rw.from_solution
    defs = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    called = _called_at_top(tree) if defs else set()
    call_check = any(d.name == "check" for d in defs) and "check" not in called
    tests = tuple(dict.fromkeys(d.name for d in defs if d.name.startswith("test") and d.name not in called
                                and _no_required_args(d)))
    return Prepared(compile(tree, FILENAME, "exec"), frozenset(free), frozenset(bound), call_check, tests)
