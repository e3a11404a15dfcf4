"""The library's shape, read from its source with ``ast`` (nothing is imported):

(a) the import graph between nstlab's modules is acyclic, function-level imports included and
    ``if TYPE_CHECKING:`` blocks excluded (they never run);
(b) no module uses a private name (``_x``) of another nstlab module, by ``from .m import _x`` or by
    ``m._x`` on an imported module (private modules such as ``_features`` may be imported: their public
    names are the package's shared helpers);
(c) no function or method is longer than :data:`MAX_FUNCTION_LINES` lines (def line to last line,
    docstring included).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "nstlab"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Module:
    """One module's source: ``name`` (dotted), ``is_package`` (an ``__init__.py``), ``path`` for reports."""

    name: str
    source: str
    is_package: bool = False
    path: str = ""


def package_modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Module]:
    """Every ``.py`` file below ``root`` as a :class:`Module`, keyed by dotted name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        rel = str(path.relative_to(root.parent))
        out[name] = Module(name, path.read_text(encoding="utf-8"), is_package, rel)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those inside the body of an ``if TYPE_CHECKING:`` (its ``else`` runs)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _base(module: Module, level: int, target: str | None) -> str:
    """The absolute module named by ``from <level dots><target> import ...`` inside ``module``."""
    if level == 0:
        return target or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{target}" if target else package


@dataclass(frozen=True)
class Import:
    """One imported name: from module ``source`` (absolute), the ``name`` (None for ``import m``), bound to
    ``alias`` in the importing module, on ``line``."""

    source: str
    name: str | None
    alias: str
    line: int


def imports(module: Module) -> list[Import]:
    """The runtime imports of a module (module level and inside functions; not under TYPE_CHECKING)."""
    out = []
    for node in runtime_nodes(ast.parse(module.source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append(Import(a.name, None, a.asname or a.name.partition(".")[0], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, node.level, node.module)
            out += [Import(base, a.name, a.asname or a.name, node.lineno) for a in node.names]
    return out


def import_targets(imp: Import, modules: dict[str, Module]) -> list[str]:
    """The package modules an import loads: ``from pkg import sub`` loads the submodule ``pkg.sub``."""
    if imp.name is not None and f"{imp.source}.{imp.name}" in modules:
        return [f"{imp.source}.{imp.name}"]
    return [imp.source] if imp.source in modules else []


def import_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    """module -> the package modules it imports at run time (itself and the bare root package left out)."""
    graph = {}
    for name, module in modules.items():
        targets = {t for imp in imports(module) for t in import_targets(imp, modules)}
        graph[name] = {t for t in targets if t != name and not (modules[t].is_package and t == PACKAGE)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the directed graph as [a, b, ..., a], or [] when it is acyclic (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(modules: dict[str, Module]) -> list[str]:
    """``path:line: what`` for every private name of one package module used by another."""
    found = []
    for name, module in modules.items():
        bound = {}  # local name -> package module it is bound to
        for imp in imports(module):
            targets = import_targets(imp, modules)
            if not targets or targets == [name]:
                continue
            is_module = imp.name is None or f"{imp.source}.{imp.name}" in modules
            if is_module:
                bound[imp.alias] = targets[0]
            elif _private(imp.name):
                found.append(f"{module.path}:{imp.line}: from {imp.source} import {imp.name}")
        for node in runtime_nodes(ast.parse(module.source)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                if node.value.id in bound and bound[node.value.id] != name:
                    found.append(f"{module.path}:{node.lineno}: {bound[node.value.id]}.{node.attr}")
    return sorted(set(found))


def long_functions(modules: dict[str, Module], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``path:qualified name:lines`` for every function or method longer than ``limit`` lines."""
    found = []
    for module in modules.values():
        tree = ast.parse(module.source)
        stack: list[tuple[ast.AST, str]] = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                qual = f"{prefix}{getattr(child, 'name', '')}"
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = child.end_lineno - child.lineno + 1
                    if length > limit:
                        found.append(f"{module.path}:{qual}:{length}")
                    stack.append((child, qual + "."))
                elif isinstance(child, ast.ClassDef):
                    stack.append((child, qual + "."))
                else:
                    stack.append((child, prefix))
    return sorted(found)


# ---- the library ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return package_modules()


def test_every_module_is_read(modules):
    assert {"nstlab", "nstlab.backbones", "nstlab.layers", "nstlab.color"} <= set(modules)


def test_the_package_docstring_lists_every_module(modules):
    top = {name.split(".")[1] for name in modules if name.count(".") >= 1}
    doc = ast.get_docstring(ast.parse(modules[PACKAGE].source))
    missing = sorted(m for m in top if f"``{m}``" not in doc)
    assert not missing, f"nstlab/__init__.py does not list {missing}"


def test_the_import_graph_is_acyclic(modules):
    cycle = find_cycle(import_graph(modules))
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_no_module_uses_a_private_name_of_another(modules):
    uses = private_uses(modules)
    assert not uses, "private names used across modules:\n" + "\n".join(uses)


def test_no_function_is_longer_than_the_limit(modules):
    long = long_functions(modules)
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (file:function:lines):\n" + "\n".join(long)


# ---- the checkers themselves, on made-up packages ------------------------------------------------------


def fake(**sources: str) -> dict[str, Module]:
    """A made-up package ``nstlab`` with the given modules (``a="..."`` becomes nstlab.a)."""
    mods = {PACKAGE: Module(PACKAGE, "", is_package=True, path="nstlab/__init__.py")}
    mods.update(
        {f"{PACKAGE}.{k}": Module(f"{PACKAGE}.{k}", v, path=f"nstlab/{k}.py") for k, v in sources.items()}
    )
    return mods


def test_a_two_module_cycle_is_found_even_through_a_function_level_import():
    mods = fake(
        a="from . import b\n", b="def f():\n    from .a import g\n    return g\n", c="import nstlab.a\n"
    )
    assert find_cycle(import_graph(mods)) in (
        ["nstlab.a", "nstlab.b", "nstlab.a"],
        ["nstlab.b", "nstlab.a", "nstlab.b"],
    )


def test_type_checking_imports_and_third_party_imports_make_no_edge():
    mods = fake(
        a="from . import b\nimport torch\n",
        b="from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\nelse:\n    import os\n",
    )
    graph = import_graph(mods)
    assert graph["nstlab.a"] == {"nstlab.b"} and graph["nstlab.b"] == set()
    assert find_cycle(graph) == []


def test_private_names_are_found_by_import_and_by_attribute_but_private_modules_are_allowed():
    mods = fake(
        _helpers="def public(): ...\ndef _hidden(): ...\n",
        t="def _kept(): ...\n",
        w="from ._helpers import public\nfrom .t import _kept\nfrom . import t\nx = t._kept\ny = t.__doc__\n",
    )
    assert private_uses(mods) == [
        "nstlab/w.py:2: from nstlab.t import _kept",
        "nstlab/w.py:4: nstlab.t._kept",
    ]


def test_long_functions_are_reported_with_their_qualified_names():
    method = "    def method(self):\n" + "        x = 1\n" * 60  # 61 lines with its def line
    mods = fake(m="class K:\n" + method + "\n\ndef short():\n    pass\n")
    assert long_functions(mods) == ["nstlab/m.py:K.method:61"]
