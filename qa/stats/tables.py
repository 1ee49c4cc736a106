"""The dashboard's tables, described once: the page renders them and the CSV export writes them."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from qa.timeutil import format_china


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "int"  # int | rate | hours | rating | score | text | load
    note: str = ""


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    footer: dict | None = None  # a totals row, when there is one
    links: dict = field(default_factory=dict)  # row index -> org code to drill into


def cell(value, kind: str) -> str:
    """A value as people read it; "" when there is nothing to show (no denominator, no data)."""
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "hours":
        return f"{value:.1f}"
    if kind == "rating":
        return f"{value:.2f}"
    if kind == "score":
        return f"{value:.1f}"
    return str(value)


def sort_value(value) -> str:
    """What the page's column sort compares: numbers as numbers, missing values last."""
    if value is None:
        return ""
    return str(value)


FIGURE_COLUMNS = [  # volume, then timeliness and quality right beside it
    Column("asked", "提问数"),
    Column("answered", "已答复"),
    Column("answer_rate", "答复率", "rate", "已答复 ÷（提问数 − 未答复即关闭）"),
    Column("on_time_rate", "按时答复率", "rate", "期限内首次答复 ÷（已答复 + 已过期限仍未答复）"),
    Column("rating_average", "质量评定均分", "rating", "期间内评定的四项平均分（1–5）"),
    Column("rating_count", "评定次数"),
    Column("median_hours_to_first_answer", "用时中位数（小时）", "hours", "从提问到首次答复"),
    Column("p90_hours_to_first_answer", "90%分位（小时）", "hours", "90% 的问题在此时间内得到首次答复"),
    Column("overdue", "当前超期", "int", "截至统计时仍未答复且已过答复期限（不限提问时间）"),
    Column("escalated", "提请上级", "int", "期间内的提请上级次数"),
    Column("accepted_rate", "采纳率", "rate", "提问人采纳的 ÷ 已答复"),
    Column("canonical", "权威答复", "int", "期间内形成的权威答复（不含已撤回）"),
]


def _flat(row: dict) -> dict:
    flat = dict(row)
    rating = row.get("rating") or {}
    flat["rating_average"], flat["rating_count"] = rating.get("average"), rating.get("count")
    return flat


def summary_table(data: dict) -> Table:
    figures = _flat(data)
    rows = []
    for column in FIGURE_COLUMNS:
        rows.append({"figure": column.header, "value": figures.get(column.key), "kind": column.kind,
                     "note": column.note})
    rows.insert(3, {"figure": "未答复即关闭", "value": data["closed"], "kind": "int",
                    "note": "重复、撤回、不属于答疑范围等，不计入答复率"})
    return Table("summary", "主要指标", [Column("figure", "指标", "text"), Column("value", "数值", "cell"),
                                         Column("note", "口径", "text")], rows)


def category_table(data: dict) -> Table:
    return Table("by_category", "按业务条线", [Column("name", "业务条线", "text"), *FIGURE_COLUMNS],
                 [_flat(r) for r in data["by_category"]])


def org_table(data: dict) -> Table:
    rows = [_flat(r) | {"name": f"{r['name']}（本院）" if r["own"] and len(data["by_org"]) > 1 else r["name"]}
            for r in data["by_org"]]
    links = {i: r["code"] for i, r in enumerate(data["by_org"]) if not r["own"]}
    return Table("by_org", "按检察院", [Column("code", "代码", "text"), Column("name", "检察院", "text"),
                                        *FIGURE_COLUMNS], rows, links=links)


def trend_table(data: dict) -> Table:
    trend = data["trend"]
    columns = [Column("label", "周" if trend["unit"] == "week" else "月", "text"), *[
        c for c in FIGURE_COLUMNS if c.key in ("asked", "answered", "answer_rate", "on_time_rate",
                                               "median_hours_to_first_answer", "escalated", "rating_average",
                                               "rating_count")]]
    return Table("trend", "趋势", columns, [_flat(r) for r in trend["rows"]])


def participation_table(data: dict) -> Table:
    p = data["participation"]
    columns = [Column("code", "代码", "text"), Column("name", "检察院", "text"),
               Column("accounts", "账号数", "int", "目前在用的账号"),
               Column("active", "活跃用户", "int", "在用账号中期间内登录过的"),
               Column("active_rate", "活跃率", "rate"),
               Column("askers", "提问人数"), Column("asked", "提问数")]
    rows = [r | {"name": f"{r['name']}（本院）" if r["own"] and len(p["rows"]) > 1 else r["name"]} for r in p["rows"]]
    links = {i: r["code"] for i, r in enumerate(p["rows"]) if not r["own"]}
    return Table("participation", "参与情况", columns, rows, footer={"code": "", "name": "合计", **p["total"]},
                 links=links)


EXPERT_COLUMNS = [
    Column("name", "专家", "text"), Column("org_name", "所在院", "text"),
    Column("assigned", "分派", "int", "期间内分派的问题"),
    Column("answered", "已答复"), Column("answer_rate", "答复率", "rate"),
    Column("on_time_rate", "按时率", "rate", "期限内答复 ÷（已答复 + 持有至期满仍未答复）"),
    Column("median_hours", "用时中位数（小时）", "hours", "从分派到本人首次答复"),
    Column("rating_average", "质量评定均分", "rating"), Column("rating_count", "评定次数"),
    Column("canonical", "权威答复"),
    Column("load_text", "在办 / 上限", "load", "当前在办问题数与在办上限"),
    Column("score", "综合评价", "score", "质量 50%、答复率 25%、按时率 25%，少量样本向中值平滑"),
]


def expert_table(data: dict, limit: int | None = None) -> Table:
    rows = []
    for r in data["experts"][:limit] if limit else data["experts"]:
        row = _flat(r)
        row["load_text"] = f"{r['load']} / {r['capacity']}" if r.get("capacity") is not None else str(r["load"])
        row["load_text_sort"] = r["load_rate"] if r.get("load_rate") is not None else r["load"]
        rows.append(row)
    return Table("experts", "答疑专家", EXPERT_COLUMNS, rows)


TABLES = {
    "summary": summary_table,
    "by_category": category_table,
    "by_org": org_table,
    "trend": trend_table,
    "participation": participation_table,
    "experts": expert_table,
}


def _csv_cell(value) -> str:
    """Text that a spreadsheet would take for a formula is prefixed with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def table_csv(table: Table, data: dict) -> str:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    scope, period = data["scope"], data["period"]
    writer.writerow([_csv_cell(c.header) for c in table.columns])
    for row in table.rows + ([table.footer] if table.footer else []):
        kind_of = row.get("kind")
        writer.writerow([_csv_cell(cell(row.get(c.key), kind_of if c.kind == "cell" else c.kind))
                         for c in table.columns])
    writer.writerow([])
    writer.writerow([_csv_cell(f"范围：{scope['name']}（{scope['code']}）；期间：{period['from']} 至 {period['to']}"
                               f"（北京时间）；数据截至 {format_china(data['as_of'])}")])
    return out.getvalue()
