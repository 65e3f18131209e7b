"""The import contracts catch what they promise: each planted forbidden import fails `lint-imports`.

Each case copies `src/` and `.importlinter` to a temporary directory, appends one import to a file
of the copy, and runs `lint-imports` there (with the copy first on the path), so the real tree is
never touched. The clean copy must pass, so a failure is the planted import's doing.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MODULES = Path("src", "twelve", "modules")


def _copy_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _plant(tree: Path, module: str, line: str) -> None:
    api = tree / MODULES / module / "api.py"
    api.write_text(api.read_text(encoding="utf-8") + f"\n{line}  # planted\n", encoding="utf-8")


def _a_non_api_module(tree: Path, module: str) -> str:
    """The dotted name of some file of `module` other than its api.py (whatever files it has)."""
    package = tree / MODULES / module
    files = sorted(p for p in package.rglob("*.py") if p.name not in {"api.py", "__init__.py"})
    assert files, f"{module} has no file besides api.py"
    relative = files[0].relative_to(tree / "src").with_suffix("")
    return ".".join(relative.parts)


def _is_broken(contract_id: str, output: str) -> bool:
    """Whether lint-imports reported the contract `contract_id` of `.importlinter` as broken."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    name = config[f"importlinter:contract:{contract_id}"]["name"]
    # lint-imports wraps long contract names; compare with the lines joined.
    return f"{name} BROKEN" in " ".join(output.split())


def test_the_clean_copy_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        pytest.param(
            "chat",
            "from twelve.modules.credits import api as _credits",
            "graph-chat",
            id="chat-to-credits-api",
        ),
        pytest.param(
            "gateway",
            "from twelve.modules.events import api as _events",
            "graph-gateway",
            id="gateway-to-events-api",
        ),
        pytest.param(
            "models",
            "import sqlalchemy as _sqlalchemy",
            "no-infrastructure-in-api",
            id="sqlalchemy-in-models-api",
        ),
    ],
)
def test_a_planted_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = _copy_tree(tmp_path)
    _plant(tree, module, line)
    result = _lint_imports(tree)
    assert result.returncode != 0, result.stdout
    assert _is_broken(contract, result.stdout), result.stdout


def test_importing_another_modules_non_api_file_breaks_the_api_door(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    # chat may use models (a declared edge), so only the api.py door contract can catch this.
    _plant(tree, "chat", f"import {_a_non_api_module(tree, 'models')} as _inside")
    result = _lint_imports(tree)
    assert result.returncode != 0, result.stdout
    assert _is_broken("only-through-api", result.stdout), result.stdout
