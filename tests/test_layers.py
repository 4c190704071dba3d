"""The layer order docs/ARCHITECTURE.md declares holds for every import in mlp_xp."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlp_xp"


def _layers() -> dict[str, int]:
    """Each declared name's layer, counted from the bottom."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    found = re.search(r"<!--\s*layers:(.*?)-->", text)
    assert found, "docs/ARCHITECTURE.md declares no <!-- layers: ... --> line"
    return {name: i for i, group in enumerate(found.group(1).split("|")) for name in group.split()}


def _name(path: Path) -> str:
    """The module a file under mlp_xp/ is: ``mlp_xp/nn/plan.py`` -> ``mlp_xp.nn.plan``."""
    dotted = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
    return dotted.removesuffix(".__init__")


def _unit(module: str) -> str:
    """The declared name a module belongs to: ``mlp_xp.nn.plan`` -> ``nn``."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(path: Path, module: str) -> set[str]:
    """The mlp_xp modules ``path`` names in an import, at any depth (functions too)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("mlp_xp.")}


def test_the_spine_stands_in_order():
    level = _layers()
    spine = [level[name] for name in ("backend", "nn", "training", "estimators", "cli")]
    assert spine == sorted(set(spine))


def test_every_module_imports_only_its_own_layer_or_those_below():
    level = _layers()
    modules = {_name(p): p for p in PACKAGE.rglob("*.py")}
    upward = []
    for module, path in sorted(modules.items()):
        mine = _unit(module)
        assert mine in level, f"{path} is in no declared layer"
        for target in sorted(_imports(path, module)):
            if target not in modules or module.startswith(f"{target}."):
                continue  # a name rather than a module, or the module's own package
            theirs = _unit(target)
            if level.get(theirs, -1) > level[mine]:
                upward.append(f"{module} imports {target}")
    assert upward == []
