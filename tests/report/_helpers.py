"""Parsing the report strictly as HTML5 and reading its text."""

from __future__ import annotations

import html5lib

NS = "{http://www.w3.org/1999/xhtml}"
HOSTILE = "<script>alert(1)</script>\"'&"


def _doc(html: str):  # noqa: ANN202
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(html)


def _text(node) -> str:  # noqa: ANN001
    return "".join(node.itertext())
