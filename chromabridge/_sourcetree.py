"""Import the plugin folders of a source checkout as `chromabridge.<name>`.

Installs (wheel or strict editable) lay the five folders out as subpackages, so this runs
only when the bare core folder of a checkout is first on `sys.path`. A finder that knows
exactly five names keeps everything else in the checkout (`tests`, `benchmarks`, the core
folder itself) out of the `chromabridge` namespace.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

PLUGINS = ("vectorstores", "loaders", "chunkers", "embedders", "retrievers")


class CheckoutFinder:
    """Finds `<package>.<plugin>` in `<root>/<plugin>/`, nothing else."""

    def __init__(self, package: str, root: Path) -> None:
        self.package = package
        self.root = root

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != self.package or name not in PLUGINS:
            return None
        folder = self.root / name
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def install(package: str, root: Path) -> None:
    """Add the finder once (re-importing the package must not stack finders)."""
    if not any(isinstance(f, CheckoutFinder) and f.root == root for f in sys.meta_path):
        sys.meta_path.append(CheckoutFinder(package, root))
