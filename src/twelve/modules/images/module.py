"""The images module as the process wires it: a name reserved for what comes next; it builds
nothing yet."""

from __future__ import annotations

from twelve.kernel.module_spec import ModuleSpec

MODULE = ModuleSpec(name="images")
