"""Separator presets per language, the same lists LangChain uses (so results match).

Each preset is a list of regular expressions (LangChain's `from_language` sets
`is_separator_regex=True`), from the coarsest structure down to single characters.
"""

from __future__ import annotations

from chromabridge.errors import ChunkerError

__all__ = ["LANGUAGES", "separators_for"]

LANGUAGES: dict[str, tuple[str, ...]] = {
    "markdown": (
        "\n#{1,6} ",  # headings
        "```\n",  # end of a code block
        "\n\\*\\*\\*+\n",  # horizontal rules
        "\n---+\n",
        "\n___+\n",
        "\n\n",
        "\n",
        " ",
        "",
    ),
    "python": ("\nclass ", "\ndef ", "\n\tdef ", "\n\n", "\n", " ", ""),
    "html": (
        "<body",
        "<div",
        "<p",
        "<br",
        "<li",
        "<h1",
        "<h2",
        "<h3",
        "<h4",
        "<h5",
        "<h6",
        "<span",
        "<table",
        "<tr",
        "<td",
        "<th",
        "<ul",
        "<ol",
        "<header",
        "<footer",
        "<nav",
        "<head",
        "<style",
        "<script",
        "<meta",
        "<title",
        "",
    ),
    "rst": (
        "\n=+\n",  # section underlines
        "\n-+\n",
        "\n\\*+\n",
        "\n\n.. *\n\n",  # directives
        "\n\n",
        "\n",
        " ",
        "",
    ),
}


def separators_for(language: object) -> list[str]:
    """The preset for `language`: a name ("markdown") or LangChain's `Language` member."""
    name = str(getattr(language, "value", language)).lower()
    try:
        return list(LANGUAGES[name])
    except KeyError:
        raise ChunkerError(
            f"no separator preset for language {language!r}; known: {', '.join(LANGUAGES)} "
            "(or pass separators= yourself)"
        ) from None
