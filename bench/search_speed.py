"""Search speed at scale: build, query latency, similar questions, commit-to-searchable, against
a plain Whoosh + jieba baseline and Apache Answer's SQL LIKE method in the same run.

    .venv/bin/python bench/search_speed.py [--threads 100000] [--work /tmp/jd-speed] [--queries 300]
        [--backend whoosh|sql] [--database-url postgresql+psycopg://…/jd_speed]

--backend sql measures the SQL backend (SQLite FTS5: in the SQLite database, or in a file of its own
beside PostgreSQL with --database-url: an empty database of its own, which the script fills); the
baseline and LIKE figures are measured the same.

Generates realistic Chinese legal threads (Zipf-like vocabulary: jieba's dictionary by frequency
plus charges, procedural terms and statute citations; ~2,300 characters a thread), imports them
with `import threads` (plus the real 集萃 items), rebuilds our index, and builds the baseline
index once (kept in the work directory and reused by later runs of the same size).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("JD_DATA", ROOT.parent / "shared" / "data"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms"


# Corpus ----------------------------------------------------------------------------------------


def vocabulary() -> tuple[list[str], list[float], list[str]]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and len(parts[0]) >= 1:
                rows.append((int(parts[1]), parts[0]))
    rows.sort(reverse=True)
    words = [w for _f, w in rows[:30000]]
    weights = [1 / (rank + 10) ** 1.05 for rank in range(len(words))]  # Zipf-like
    legal = []
    for name in ("charges.txt", "legal_terms.txt"):
        legal += [line.strip() for line in (ROOT / "qa" / "search" / "data" / name).read_text(encoding="utf-8")
                  .splitlines() if line.strip() and not line.startswith("#")]
    return words, weights, legal


LAWS = ["刑法", "刑事诉讼法", "《中华人民共和国刑法》", "刑诉法", "《人民检察院刑事诉讼规则》", "民法典", "民事诉讼法"]


def sentence(rng, words, cum, legal, length) -> str:
    out, size = [], 0
    while size < length:
        chunk = rng.choices(words, cum_weights=cum, k=rng.randint(6, 14))
        if rng.random() < 0.35:
            chunk.insert(rng.randrange(len(chunk)), rng.choice(legal))
        if rng.random() < 0.08:
            chunk.append(f"{rng.choice(LAWS)}第{rng.randint(1, 450)}条")
        text = "".join(chunk)
        out.append(text + rng.choice("，，，。；"))
        size += len(text) + 1
    return "".join(out)[:length].rstrip("，；") + "。"


def generate(path: Path, n: int, seed: int = 7) -> None:
    from itertools import accumulate

    words, weights, legal = vocabulary()
    cum = list(accumulate(weights))
    rng = random.Random(seed)
    categories = ["criminal", "criminal_ordinary", "criminal_economic", "civil", "administrative",
                  "public_interest", "juvenile", "enforcement", "petition", "case_management", "general"]
    with open(path, "w", encoding="utf-8") as out:
        for _i in range(n):
            title = sentence(rng, words, cum, legal, rng.randint(20, 38)).rstrip("。") + "？"
            body = sentence(rng, words, cum, legal, rng.randint(200, 600))
            answers = [{"body": sentence(rng, words, cum, legal, rng.randint(300, 1500)), "expert": f"专家{rng.randint(1, 400)}"}
                       for _ in range(rng.randint(1, 3))]
            year = rng.randint(2019, 2026)
            out.write(json.dumps({"title": title[:110], "body": body, "category": rng.choice(categories),
                                  "asked_at": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                                  "answers": answers, "tags": [f"标签{rng.randint(1, 300)}"]},
                                 ensure_ascii=False) + "\n")


def queries(n: int, seed: int = 11) -> list[str]:
    """Realistic queries: the 集萃 dev queries, CJRC questions and short keyword queries."""
    rng = random.Random(seed)
    out = [json.loads(line)["query"] for line in open(DATA / "eval" / "jicui_queries.dev.jsonl", encoding="utf-8")]
    cjrc = [json.loads(line)["question"] for line in open(DATA / "eval" / "cjrc_question_to_passage.dev.jsonl",
                                                          encoding="utf-8")]
    out += rng.sample(cjrc, max(0, n // 2 - len(out)))
    words, _weights, legal = vocabulary()
    mid = words[300:8000]
    while len(out) < n:
        parts = rng.sample(mid, rng.randint(1, 3)) + [rng.choice(legal)]
        rng.shuffle(parts)
        out.append(" ".join(parts))
    return out[:n]


# Baseline (in a child process: our legal dictionary must not leak into its jieba) -------------


def baseline_build(db_url: str, path: str) -> float:
    from jieba.analyse import ChineseAnalyzer
    from sqlalchemy import create_engine, text
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema

    analyzer = ChineseAnalyzer()
    schema = Schema(id=ID(stored=True, unique=True), title=TEXT(analyzer=analyzer, stored=True),
                    content=TEXT(analyzer=analyzer, stored=True))
    os.makedirs(path, exist_ok=True)
    ix = index.create_in(path, schema)
    engine = create_engine(db_url)
    started = time.perf_counter()
    writer = ix.writer(procs=2, multisegment=True, limitmb=256)
    with engine.connect() as conn:
        answers: dict[int, list[str]] = {}
        for qid, body in conn.execute(text("SELECT question_id, body_md FROM answer")):
            answers.setdefault(qid, []).append(body)
        for qid, title, body in conn.execute(text("SELECT id, title, body_md FROM question")):
            writer.add_document(id=str(qid), title=title, content="\n".join([title, body, *answers.get(qid, [])]))
    writer.commit()
    return time.perf_counter() - started


def baseline_queries(path: str, texts: list[str]) -> tuple[list[float], list[float], list[int]]:
    import re

    from whoosh import index
    from whoosh.highlight import ContextFragmenter, HtmlFormatter
    from whoosh.qparser import MultifieldParser, OrGroup

    ix = index.open_dir(path)
    searcher = ix.searcher()
    parser = MultifieldParser(["title", "content"], ix.schema, group=OrGroup)
    plain, highlighted, totals = [], [], []
    for _i, q in enumerate(texts):
        query = parser.parse(re.sub(r"[\"'()\[\]{}:^~*?+\-!/\\]", " ", q))
        t = time.perf_counter()
        results = searcher.search(query, limit=10)
        totals.append(len(results))
        plain.append((time.perf_counter() - t) * 1000)
        results.fragmenter = ContextFragmenter(maxchars=140)
        results.formatter = HtmlFormatter()
        t = time.perf_counter()
        results = searcher.search(query, limit=10)
        for hit in results:
            hit.highlights("content")
        highlighted.append((time.perf_counter() - t) * 1000)
    return plain[10:], highlighted[10:], totals


def _child(fn, args, conn):
    conn.send(fn(*args))
    conn.close()


def in_child(fn, *args):
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(fn, args, child))
    proc.start()
    result = parent.recv()
    proc.join()
    return result


# The run -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--work", default="/tmp/jd-speed")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--like-queries", type=int, default=100, help="queries through SQL LIKE (slow)")
    parser.add_argument("--reuse-index", action="store_true", help="skip our rebuild (index from an earlier run)")
    parser.add_argument("--backend", choices=["whoosh", "sql"], default="whoosh", help="QA_SEARCH_BACKEND")
    parser.add_argument("--database-url", help="default: a SQLite file in the work directory")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="no plain Whoosh baseline (it takes ~40 min to build at 100,000 threads)")
    args = parser.parse_args()
    work = Path(args.work) / str(args.threads)
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "speed.db"
    db_url = args.database_url or f"sqlite:///{db_path}"
    marker = work / ("imported" if not args.database_url else "imported-" + db_url.rsplit("/", 1)[-1])
    texts = queries(args.queries)
    report = Report()
    report.append(f"threads: {args.threads} generated + the 集萃 items; queries: {len(texts)}; "
                  f"backend: {args.backend} on {db_url.split(':', 1)[0]}")

    from qa import create_app
    from qa.extensions import db
    from qa.services.setup import sync_categories

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": db_url,
                      "QA_SEARCH_INDEX_DIR": str(work / "index"), "QA_SEARCH_WRITER": "worker",
                      "QA_SEARCH_BACKEND": args.backend})
    with app.app_context():
        fresh = not marker.exists()
        if fresh:
            jsonl = work / "threads.jsonl"
            if not (work / "generated").exists():  # the corpus is generated once per size
                t = time.perf_counter()
                generate(jsonl, args.threads)
                (work / "generated").write_text(str(args.threads))
                print(f"generated {args.threads} threads in {time.perf_counter() - t:.0f} s", flush=True)
            db.create_all()
            sync_categories()
            from qa.services.archive import import_jicui, import_threads_jsonl

            t = time.perf_counter()
            with open(jsonl, encoding="utf-8") as handle:
                rep = import_threads_jsonl(handle)
            import_jicui(DATA / "jicui")
            imported = time.perf_counter() - t
            report.append(f"import threads (database only): {rep.created} threads in {imported:.0f} s "
                          f"({rep.created / imported:.0f} threads/s)")
            marker.write_text(str(imported))
        chars = db.session.execute(db.text(
            "SELECT (SELECT sum(length(title) + length(body_md)) FROM question) + "
            "(SELECT sum(length(body_md)) FROM answer)")).scalar() / max(args.threads, 1)
        report.append(f"average thread length: {chars:.0f} characters")

        # Our index: a full rebuild (the bulk path imports take too).
        from qa.search import drain_outbox, rebuild_index, run_search, similar_questions

        if not args.reuse_index:
            t = time.perf_counter()
            count = rebuild_index(procs=2)
            build = time.perf_counter() - t
            report.append(f"ours: rebuild {count} docs in {build:.0f} s ({count / build:.0f} docs/s, 2 processes)")
            imported = float(marker.read_text())
            report.append(f"import + index (database import of this corpus + rebuild): {imported + build:.0f} s")
        report.append(f"ours: index {index_size_mb(args.backend):.0f} MB")

        # Query latency, warm searcher (the first 10 queries warm up and are not counted).
        for q in texts[:10]:
            run_search(q)
        ours_hl, ours_plain, totals = [], [], []
        for q in texts:
            t = time.perf_counter()
            res = run_search(q, per_page=10)
            ours_hl.append((time.perf_counter() - t) * 1000)
            totals.append(res.total)
            t = time.perf_counter()
            run_search(q, per_page=10, snippets=False, exact_total=False)
            ours_plain.append((time.perf_counter() - t) * 1000)
        ours_hl, ours_plain = ours_hl[10:], ours_plain[10:]
        report.append(f"ours, search with snippets + exact count:  {fmt(ours_hl)}   (median hits {statistics.median(totals):.0f})")
        report.append(f"ours, search, no snippets, estimated count: {fmt(ours_plain)}")

        # Similar questions: a title and the start of a question, as typed.
        rows = db.session.execute(db.text("SELECT title, substr(body_md, 1, 200) FROM question ORDER BY random() LIMIT 110")).all()
        sim = []
        for title, body in rows:
            t = time.perf_counter()
            similar_questions(f"{title}\n{body}")
            sim.append((time.perf_counter() - t) * 1000)
        report.append(f"similar questions:                         {fmt(sim[10:])}")

        # Commit to searchable: a new answered thread, committed, drained by the writer, then found.
        from qa.services.archive import ThreadRecord, import_records
        delays = []
        for i in range(10):
            token = f"检索时延标记{int(time.time() * 1000) % 10**9}x{i}"
            record = ThreadRecord(ref=f"bench:{token}", kind="archive", label="bench", title=f"{token}问题",
                                  body=f"{token}正文", category="general", answers=[(f"{token}答复", "专家", None)])
            import_records([(0, record)])
            t = time.perf_counter()
            drain_outbox(blocking=True)
            hits = run_search(token).hits
            delays.append((time.perf_counter() - t) * 1000)
            assert hits and hits[0].question.title == f"{token}问题", token
        report.append(f"commit to searchable (drain + search):     {fmt(delays)}")

        # Apache Answer's method: LIKE '%word%' per word over title and body, words AND-ed.
        from qa.search.analysis import main_words
        like = []
        for q in texts[: args.like_queries]:
            words = [w for w in main_words(q) if len(w) > 1][:6] or [q[:10]]
            where = " AND ".join(f"(title LIKE :w{i} OR body_md LIKE :w{i})" for i in range(len(words)))
            params = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
            t = time.perf_counter()
            db.session.execute(db.text(f"SELECT id FROM question WHERE {where} ORDER BY id DESC LIMIT 10"), params).all()
            like.append((time.perf_counter() - t) * 1000)
        report.append(f"Apache Answer method (SQL LIKE, {len(like)} queries):   {fmt(like)}")
        report.append(f"ratio LIKE/ours (p50, p95): {statistics.median(like) / statistics.median(ours_hl):.1f}x, "
                      f"{pct(like, 95) / pct(ours_hl, 95):.1f}x")

        if args.skip_baseline:
            print("\n== summary ==\n" + "\n".join(report))
            return
        # Baseline index, built once per corpus size and reused.
        base_path = work / "baseline"
        if not (base_path / "built").exists():
            seconds = in_child(baseline_build, db_url, str(base_path))
            (base_path / "built").write_text(f"{seconds:.1f}")
        base_build = float((base_path / "built").read_text())
        base_size = sum(f.stat().st_size for f in base_path.iterdir()) / 2**20
        report.append(f"baseline: build {base_build:.0f} s ({args.threads / base_build:.0f} docs/s, 2 processes), "
                      f"index {base_size:.0f} MB")

        base_plain, base_hl, base_totals = in_child(baseline_queries, str(base_path), texts)
        report.append(f"baseline, no highlights:                   {fmt(base_plain)}   (median hits {statistics.median(base_totals):.0f})")
        report.append(f"baseline, highlights of 10 hits:           {fmt(base_hl)}")
        report.append(f"ratio baseline/ours (p50, p95), with highlights: "
                      f"{statistics.median(base_hl) / statistics.median(ours_hl):.1f}x, {pct(base_hl, 95) / pct(ours_hl, 95):.1f}x")

    print("\n== summary ==\n" + "\n".join(report))


def index_size_mb(backend: str) -> float:
    from qa.search import sql_backend
    from qa.search.index import index_root, live_dir

    if backend == "whoosh":
        return sum(f.stat().st_size for f in live_dir(index_root()).iterdir()) / 2**20
    with sql_backend.engine().connect() as conn:  # dbstat: the pages of the sx_* tables and their indexes
        size = conn.exec_driver_sql("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'sx%'").scalar()
    return (size or 0) / 2**20


class Report(list):
    """Lines printed as they are measured (a long run shows its figures even if a later step fails)."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)


if __name__ == "__main__":
    main()
