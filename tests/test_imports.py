"""The package's layers, read from its imports (module-level and inside functions alike): no circle, and
no import in a forbidden direction (the README's layout: each layer and what it never imports)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gridprune"

# layer (a module path prefix) -> what it must never import; "torch" stands for torch and transformers
FORBIDDEN = {
    "gridprune.engine": ("gridprune.backends", "gridprune.methods", "gridprune.models", "gridprune.training",
                         "gridprune.search", "gridprune.config", "gridprune.runs", "gridprune.cli", "torch"),
    "gridprune.backends": ("gridprune.methods", "gridprune.models", "gridprune.training", "gridprune.runs"),
    "gridprune.models": ("gridprune.engine", "gridprune.methods", "gridprune.search", "gridprune.backends"),
    "gridprune.search": ("gridprune.engine", "gridprune.methods", "gridprune.models", "gridprune.backends", "torch"),
    "gridprune.store": ("gridprune.engine", "gridprune.backends", "gridprune.models", "gridprune.methods"),
    "gridprune.training": ("gridprune.methods", "gridprune.backends", "gridprune.runs"),
    "gridprune.data": ("gridprune.engine", "gridprune.models", "gridprune.methods", "gridprune.backends"),
    "gridprune.wer": ("gridprune.engine", "gridprune.models", "gridprune.methods", "gridprune.backends"),
    "gridprune.sections": ("gridprune.config", "gridprune.backends", "gridprune.methods", "gridprune.engine"),
    "gridprune.run_setup": ("gridprune.runs", "gridprune.run_changes", "gridprune.cli"),
}
# the commands' glue, which neither the engine nor a backend may reach into
GLUE = ("gridprune.run_setup", "gridprune.run_changes", "gridprune.runs", "gridprune.status", "gridprune.cancel",
        "gridprune.run_progress", "gridprune.method_help")
for _layer in ("gridprune.engine", "gridprune.backends"):
    FORBIDDEN[_layer] += GLUE


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(path: Path, known: dict[str, Path]) -> set[str]:
    """Every module `path` imports, anywhere in it: a package's own module where `from P import m` names one."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
    return names


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(path, known) for name, path in known.items()}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(edges: dict[str, set[str]]) -> list[str]:
    """`A imports B` for every import that breaks a rule of FORBIDDEN."""
    wrong = []
    for module, targets in edges.items():
        for layer, forbidden in FORBIDDEN.items():
            if not _within(module, layer):
                continue
            banned = [b for name in forbidden for b in (("torch", "transformers") if name == "torch" else (name,))]
            wrong += [f"{module} imports {target}" for target in sorted(targets)
                      if any(_within(target, b) for b in banned)]
    return wrong


def test_no_layer_imports_what_it_must_not():
    wrong = violations(graph())
    assert not wrong, "\n".join(sorted(wrong))


def test_nothing_imports_the_cli():
    assert not [module for module, targets in graph().items() if "gridprune.cli" in targets and module != "gridprune.cli"]


def test_no_module_imports_itself_back_through_others():
    edges = graph()
    circles = _circles({module: targets & set(edges) for module, targets in edges.items()})
    assert not circles, "\n".join(" -> ".join(circle) for circle in circles)


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_rules_see_a_forbidden_import_a_lazy_one_and_a_circle(tmp_path):
    """The checks above could fail: an engine module importing a backend inside a function, and a circle."""
    source = tmp_path / "fake.py"
    source.write_text("def f():\n    from gridprune.backends import BACKENDS\n    import torch\n")
    edges = {"gridprune.engine.fake": imported(source, modules())}
    assert violations(edges) == ["gridprune.engine.fake imports gridprune.backends",
                                 "gridprune.engine.fake imports torch"]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert not _circles({"a": {"b"}, "b": set()})
