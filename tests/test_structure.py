"""The house stays legible: dependencies run one way (no import circle, counting imports inside functions and
under TYPE_CHECKING), no module over 600 lines, the schema model's questions apart from its replay, and every
rule with a fix says how safe it is on its page."""

from __future__ import annotations

import ast
from pathlib import Path

from schemalint.rules import all_rules
from tests.conftest import REPO

SRC = REPO / "src" / "schemalint"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the schemalint modules it imports, wherever the import statement is."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                while target not in modules and "." in target:
                    target = target.rpartition(".")[0]
                if target in modules and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def test_no_import_circle() -> None:
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_no_module_over_600_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, long


def test_the_schema_model_asks_and_the_replay_changes() -> None:
    source = (SRC / "model" / "schema.py").read_text(encoding="utf-8")
    (model,) = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "SchemaModel"]
    assert model.end_lineno is not None and model.end_lineno - model.lineno < 250
    rules = [p for p in (SRC / "rules").glob("*.py")]
    assert not [p.name for p in rules if "model.replay" in p.read_text(encoding="utf-8")], "rules import the replay"


def test_every_rule_with_a_fix_says_how_safe_it_is() -> None:
    for rule in all_rules().values():
        page = (REPO / "rules" / rule.page_name).read_text(encoding="utf-8")
        assert (rule.fix is not None) == ("## Fix safety" in page), rule.code
        if rule.fix is not None:
            assert f"**{rule.fix}**" in page.split("## Fix safety", 1)[1].split("\n## ", 1)[0], rule.code
