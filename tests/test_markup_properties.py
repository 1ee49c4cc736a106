"""Properties of output safety, over generated input (Hypothesis).

1. Whatever Markdown/HTML mixture a user writes, the sanitized HTML holds only allow-listed tags,
   allow-listed attributes per tag, no event handlers and only http/https/mailto or relative URLs,
   as a browser's tokenizer (html.parser) reads it.
2. Fields that are not Markdown (titles, tags, search highlights) are escaped wherever they are shown.
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from qa.markup import ALLOWED_ATTRIBUTES, ALLOWED_SCHEMES, ALLOWED_TAGS, render_markdown
from qa.search.query import highlight, snippet
from qa.services.questions import TAG_LEN
from tests.factories import make_question

FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None)
NEVER = {"script", "style", "iframe", "svg", "math", "object", "embed", "form", "img", "link", "meta", "base"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster", "srcset"}

# Generated input ------------------------------------------------------------------------------

TAGS = sorted(ALLOWED_TAGS | NEVER | {
    "frame", "frameset", "applet", "input", "button", "textarea", "select", "option", "video", "audio",
    "source", "noscript", "template", "details", "summary", "marquee", "object", "param", "xmp", "plaintext",
    "title", "noembed", "animate", "set", "use", "foreignobject", "image", "div", "span", "font",
})
ATTRIBUTES = [
    "onerror", "onload", "onclick", "OnMouseOver", "onfocus", "onanimationstart", "style", "href", "src",
    "formaction", "action", "xlink:href", "xmlns:xlink", "data", "srcset", "background", "poster", "title",
    "align", "start", "class", "id", "rel", "target", "name", "autofocus", "srcdoc", "values", "attributeName",
]
SCHEMES = ["javascript:", "vbscript:", "data:", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
           "http://example.org/", "https://example.org/a?b=1", "mailto:a@example.org", "//evil.example/",
           "/q/JD2026-110105-00001", "#top", "file:///etc/passwd", "livescript:", "ms-its:", "jar:"]
PAYLOADS = ["alert(1)", "alert(document.cookie)", "", "x", "'-alert(1)-'", "\"><script>alert(1)</script>"]


@st.composite
def obfuscated(draw, word: str) -> str:
    """`word` as an attacker writes it: random case, entities, whitespace and control characters."""
    out = []
    for char in word:
        char = char.upper() if draw(st.booleans()) else char
        style = draw(st.sampled_from(["plain"] * 6 + ["dec", "hex", "pad", "named", "ctrl", "space"]))
        if style == "dec":
            char = f"&#{ord(char)};"
        elif style == "hex":
            char = f"&#x{ord(char):X};"
        elif style == "pad":
            char = f"&#{ord(char):07d}"
        elif style == "named" and char == ":":
            char = "&colon;"
        elif style == "ctrl":
            char = draw(st.sampled_from(["\t", "\n", "&Tab;", "&NewLine;", "\x00", "\x01"])) + char
        elif style == "space" and not out:
            char = draw(st.sampled_from([" ", "\x0b", "\u00a0"])) + char
        out.append(char)
    return "".join(out)


@st.composite
def urls(draw) -> str:
    scheme = draw(st.sampled_from(SCHEMES))
    if draw(st.booleans()):
        scheme = draw(obfuscated(scheme))
    if draw(st.integers(0, 5)) == 0:
        scheme = scheme.replace(":", "%3A")
    return scheme + draw(st.sampled_from(PAYLOADS))


@st.composite
def attributes(draw) -> str:
    name = draw(st.sampled_from(ATTRIBUTES))
    name = "".join(c.upper() if draw(st.booleans()) else c for c in name)
    value = draw(st.one_of(urls(), st.sampled_from(PAYLOADS), st.text(max_size=8)))
    quote = draw(st.sampled_from(['"', "'", "", "`"]))
    if quote == "":
        value = re.sub(r"[\s>\"'`=<]", "", value) or "x"
    separator = draw(st.sampled_from([" ", "/", "\t", "\n", " /"]))
    return f"{separator}{name}={quote}{value}{quote}"


@st.composite
def elements(draw) -> str:
    tag = draw(st.sampled_from(TAGS))
    tag = "".join(c.upper() if draw(st.booleans()) else c for c in tag)
    attrs = "".join(draw(st.lists(attributes(), max_size=3)))
    inner = draw(st.one_of(st.sampled_from(PAYLOADS), text_runs))
    closing = draw(st.sampled_from([f"</{tag}>", "", f"</{tag} >", "<!--", "-->"]))
    return f"<{tag}{attrs}>{inner}{closing}"


text_runs = st.text(alphabet=st.sampled_from(list("检答问题 abc<>&\"'`=/:;#*_[]()!|\\-\n")), max_size=12)


@st.composite
def markdown_bits(draw) -> str:
    url = draw(urls())
    label = draw(st.sampled_from(["链接", "x", "<b>粗</b>", "![i](javascript:alert(1))"]))
    title = draw(st.sampled_from(["", ' "t"', " 'onmouseover=alert(1)'", ' "x\\" onclick=\\"alert(1)"']))
    return draw(st.sampled_from([
        f"[{label}]({url}{title})", f"![{label}]({url})", f"<{url}>", f"[{label}][r]\n\n[r]: {url}{title}\n",
        f"`{url}`", f"```\n<script>{url}</script>\n```", f"# {label}", f"> {label}", f"- {label}",
        f"| a | b |\n|---|---|\n| {label} | {url} |", f"*{label}*", f"{label}  \n{url}",
        "<!-- comment -->", "<![CDATA[<script>alert(1)</script>]]>", "<?xml version='1.0'?>", "<!DOCTYPE html>",
    ]))


documents = st.lists(st.one_of(elements(), markdown_bits(), text_runs), min_size=1, max_size=8).map(
    lambda parts: "".join(parts))


# Checking output ------------------------------------------------------------------------------


class Tokens(HTMLParser):
    """Tags, attributes, comments and declarations as a browser's tokenizer sees them (entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.start: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.end: list[str] = []
        self.other: list[str] = []
        self.text: list[str] = []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        self.start.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.start.append((tag, attrs))

    def handle_endtag(self, tag):
        self.end.append(tag)

    def handle_comment(self, data):
        self.other.append(f"comment {data}")

    def handle_decl(self, decl):
        self.other.append(f"declaration {decl}")

    def handle_pi(self, data):
        self.other.append(f"processing instruction {data}")

    def unknown_decl(self, data):
        self.other.append(f"declaration {data}")


def tokens(fragment: str) -> Tokens:
    parser = Tokens()
    parser.feed(fragment)
    parser.close()
    return parser


def scheme_of(url: str) -> str | None:
    """The scheme a browser would use (WHATWG URL parsing): leading and trailing C0 controls and spaces
    stripped, tabs and newlines removed anywhere, lower case. An inner space ends the scheme."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip("".join(map(chr, range(0x21))))).lower()
    match = re.match(r"^([a-z][a-z0-9+.\-]*):", cleaned)
    return match.group(1) if match else None


def assert_sanitized(output: str) -> None:
    parsed = tokens(output)
    assert parsed.other == [], output
    for tag in parsed.end:
        assert tag in ALLOWED_TAGS, (tag, output)
    for tag, attrs in parsed.start:
        assert tag in ALLOWED_TAGS and tag not in NEVER, (tag, output)
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        for name, value in attrs:
            assert not name.startswith("on"), (name, output)
            assert name in allowed, (tag, name, output)
            if name in URL_ATTRIBUTES and value is not None:
                scheme = scheme_of(value)
                assert scheme is None or scheme in ALLOWED_SCHEMES, (value, output)
        if tag == "a":
            assert dict(attrs).get("rel") == "noopener noreferrer", output


# Properties -----------------------------------------------------------------------------------


@FAST
@given(documents)
def test_rendered_markdown_holds_only_allow_listed_markup(source):
    assert_sanitized(render_markdown(source))


@FAST
@given(st.lists(st.one_of(elements(), markdown_bits()), min_size=1, max_size=4))
def test_allow_list_holds_inside_every_markdown_block(parts):
    """The same pieces inside lists, quotes, headings, tables and emphasis."""
    source = "\n\n".join([f"- {parts[0]}", f"> {parts[-1]}", f"## {parts[0]}", "| a |\n|---|\n| " + parts[-1] + " |",
                          f"**{parts[0]}** _{parts[-1]}_", *parts])
    assert_sanitized(render_markdown(source))


def test_the_checker_catches_what_it_must():
    """The property's checker is not vacuous: unsanitized Markdown output fails it."""
    import markdown

    for bad in ["<script>alert(1)</script>", "[x](javascript:alert(1))", "<p onclick=alert(1)>x</p>",
                '<a href="jav&#x09;ascript:alert(1)">x</a>', "<svg><use xlink:href=data:x /></svg>"]:
        try:
            assert_sanitized(markdown.markdown(bad))
        except AssertionError:
            continue
        raise AssertionError(f"checker accepted {bad!r}")


def pieces(chars: str, extra: list[str], min_size: int = 0, max_size: int = 60):
    """Strings made of these characters and longer snippets."""
    return st.lists(st.sampled_from(list(chars) + extra), min_size=min_size, max_size=max_size).map("".join)


plain_text = pieces("检答醉驾 abcMARK<>&\"'`/=;#\n", ["<mark>", "</mark>", "<script>", "&amp;", "&lt;"])


@FAST
@given(plain_text, st.lists(st.text(alphabet=st.sampled_from(list("检答醉驾abc<>&\"'mark")), min_size=1,
                                    max_size=4), max_size=3))
def test_search_highlight_escapes_everything_but_its_own_marks(text, terms):
    for fragment, source in ((highlight(text, terms), text[:200]), (snippet(text, terms), None)):
        parsed = tokens(str(fragment))
        assert parsed.other == []
        assert all(tag == "mark" and attrs == [] for tag, attrs in parsed.start), fragment
        assert set(parsed.end) <= {"mark"}, fragment
        shown = html.unescape(re.sub(r"</?mark>", "", str(fragment)))
        if source is not None:
            assert shown == source  # every character shown as text, none lost or added
        else:
            assert shown.strip("…") in re.sub(r"\s+", " ", text).strip()


# Escaping of titles and tags on a rendered page (a real database, so fewer examples).

titles = pieces("检答问题<>&\"'`/=() x", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&lt;",
                                      "{{ 7*7 }}", "\"><svg onload=alert(1)>"], min_size=1, max_size=12).filter(lambda t: t.strip() and len(t.strip()) <= 120)
tag_names = st.text(alphabet=st.sampled_from(list("醉驾<>&\"'`/=()x")), min_size=1, max_size=TAG_LEN).filter(
    lambda t: t.strip().lstrip("#"))


def page_of(client, question) -> str:
    response = client.get(f"/q/{question.number}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a real request
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(title=titles, tag=tag_names)
def test_titles_and_tags_are_escaped_on_the_question_page(client, auth, people, title, tag):
    """Hostile titles and tags show as text and never become elements, attributes or scripts."""
    auth.login("asker")
    page = page_of(client, make_question(people["asker"], title=title, tags=[tag]))
    assert str(escape(title.strip())) in page
    assert str(escape(tag.strip().lstrip("#"))) in page
    parsed = tokens(page)
    shown = "\n".join(parsed.text)  # text nodes, entities decoded
    assert title.strip() in shown and tag.strip().lstrip("#") in shown
    for element, attrs in parsed.start:
        assert not any(name.startswith("on") for name, _value in attrs), (element, attrs)
        if element == "script":  # the page's own scripts are static files (CSP: script-src 'self')
            assert re.match(r"^/(bootstrap/)?static/", dict(attrs).get("src") or ""), attrs
        assert element not in {"img", "iframe", "object", "embed"}, (element, attrs)
