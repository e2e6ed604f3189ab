"""Sphinx configuration for the arrayport documentation (MyST Markdown, furo theme).

Builds offline: no intersphinx (it downloads inventories), no remote images. The API
reference is generated from the package's numpydoc docstrings by autodoc.
"""

from __future__ import annotations

import arrayport  # imports numpy only; autodoc imports the rest as it documents it

project = "arrayport"
author = "arrayport developers"
copyright = "2026, arrayport developers"  # noqa: A001 (Sphinx's name)
release = arrayport.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"arrayport {release}"

# autodoc + numpydoc: document what a module's __all__ exports, in source order.
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
numpydoc_show_class_members = False  # avoids autosummary stubs for every attribute
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# The decorator's documented signature is the user's function: nothing is injected.
nitpicky = False


def _module_sections_to_rubrics(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Turn numpydoc section headings in *module* docstrings into rubrics.

    numpydoc turns "Examples" and friends into rubrics in function and class docstrings,
    but module docstrings reach docutils as real section titles; two modules with an
    "Examples" section then clash as duplicate labels, which -W makes an error.
    """
    if what != "module":
        return
    for i in range(len(lines) - 1):
        title, underline = lines[i].strip(), lines[i + 1].strip()
        if title and underline and set(underline) == {"-"} and len(underline) >= len(title):
            lines[i] = f".. rubric:: {title}"
            lines[i + 1] = ""


def setup(app: object) -> None:
    app.connect("autodoc-process-docstring", _module_sections_to_rubrics, priority=400)  # type: ignore[attr-defined]
