"""The layering of the packages: no import circle anywhere, and the core never imports the book's experiments.

Imports are read from the source (module level and inside functions alike), so a lazy import counts too. Imports
for type annotations alone (under ``if TYPE_CHECKING:``) never run, and do not count.
The command line (``drnet_core.cli``, ``drnet_core.__main__``) is the one place that hands off to the experiments.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("drnet_core", "drnet_experiments", "data_utils")
ENTRY_POINTS = {"drnet_core.cli", "drnet_core.__main__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking_block(block) for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            found = [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
            found += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for target in found:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    targets.add(target)
        graph[name] = targets
    return graph


def test_the_core_never_imports_the_experiments():
    offenders = {m: sorted(t for t in targets if t.startswith("drnet_experiments"))
                 for m, targets in _graph().items() if m.startswith("drnet_core") and m not in ENTRY_POINTS}
    assert not {m: t for m, t in offenders.items() if t}


def test_data_utils_never_imports_the_model_side():
    offenders = {m: sorted(t for t in targets if not t.startswith("data_utils"))
                 for m, targets in _graph().items() if m.startswith("data_utils")}
    assert not {m: t for m, t in offenders.items() if t}


def test_there_is_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            raise AssertionError("import circle: " + " -> ".join(cycle))
