"""Markdown → sanitized HTML, in one place. Rendered once when text is written."""
from __future__ import annotations

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "ins", "sub", "sup", "mark",
    "blockquote", "code", "pre", "ul", "ol", "li", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
# nh3 (ammonia) otherwise allows `lang` and `title` on every tag; "*" empties that generic list so the
# table above is the whole allow-list.
_NH3_ATTRIBUTES = {"*": set(), **ALLOWED_ATTRIBUTES}
ALLOWED_SCHEMES = {"http", "https", "mailto"}

_EXTENSIONS = ["extra", "sane_lists", "nl2br"]


def render_markdown(text: str) -> str:
    """Render Markdown and keep only allow-listed tags, attributes and URL schemes.

    Raw HTML in the source is escaped by the sanitizer's allow-list (script, style, iframe, event
    handlers, javascript:/data: URLs are dropped); links get rel="noopener noreferrer".
    """
    html = markdown.markdown(text or "", extensions=_EXTENSIONS, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=_NH3_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
