"""Search quality: recall@1/5/10 and MRR on the dev sets, ours against a plain baseline, same run.

    .venv/bin/python bench/search_quality.py [--data ../shared/data] [--cjrc 1000] [--backend whoosh|sql]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Corpus: the 144 集萃 items (`import jicui`), the consult_qa consultations and the CJRC passages
(both imported as threads through `import threads`). Query sets: 集萃 dev queries (→ their item),
consult_qa dev (question → its thread), CJRC dev (question → its passage).
Variants (each its own index over the same database):
  baseline   jieba ChineseAnalyzer over title + content, OR query, no dictionary, no synonyms
  bigram     character bigrams (Whoosh NgramAnalyzer(2)), OR of the query's bigrams
  jieba      our tokenizer, whole words only (jieba default mode) + legal dictionary
  +subwords  … plus the dictionary sub-words of long words
  +synonyms  … plus colloquial → legal-term expansion (the chosen configuration, without re-ranking)
  chosen     … plus canonical / quality re-ranking: exactly what the search page runs
With --backend sql the four variants of ours run on the SQL backend (QA_SEARCH_BACKEND=sql, SQLite
FTS5; PostgreSQL with --database-url: a server where the script creates, then drops, a database of
its own), and "whoosh" (the chosen configuration on Whoosh) is added for comparison in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def metrics(ranks: list[int | None]) -> dict:
    n = max(len(ranks), 1)
    return {
        "n": len(ranks),
        "r@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "r@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "r@10": sum(1 for r in ranks if r is not None and r <= 10) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }


def rank_of(target: int, ids: list[int]) -> int | None:
    try:
        return ids.index(target) + 1
    except ValueError:
        return None


SYNTAX = re.compile(r"[\"'()\[\]{}:^~*?+\-!/\\]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--cjrc", type=int, default=1000, help="CJRC dev questions sampled (0: all)")
    parser.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    parser.add_argument("--backend", choices=["whoosh", "sql"], default="whoosh", help="QA_SEARCH_BACKEND of ours")
    parser.add_argument("--quick", action="store_true", help="only the baseline and the chosen configuration")
    parser.add_argument("--misses", action="store_true", help="list the queries the chosen variant ranks below 1st")
    parser.add_argument("--database-url", help="a PostgreSQL server (its admin URL): the corpus goes into a new "
                                               "database there, dropped at the end; default: SQLite in the work folder")
    args = parser.parse_args()
    data = Path(args.data)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jd-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{work / 'quality.db'}"
    if args.database_url:
        db_url = postgres_database(args.database_url, f"jianda_quality_{os.getpid()}", create=True)
    try:
        evaluate(args, data, work, db_url)
    finally:
        if args.database_url:
            postgres_database(args.database_url, f"jianda_quality_{os.getpid()}", create=False)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def postgres_database(admin_url: str, name: str, create: bool) -> str:
    """Create (or drop) a database of the bench's own on the server; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def evaluate(args, data: Path, work: Path, db_url: str) -> None:

    from qa import create_app
    from qa.extensions import db
    from qa.services.setup import sync_categories

    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": db_url,
        "QA_SEARCH_INDEX_DIR": str(work / "index"), "QA_SEARCH_WRITER": "worker",
        "QA_SEARCH_BACKEND": args.backend,
    })
    with app.app_context():
        db.create_all()
        sync_categories()
        t0 = time.perf_counter()
        mapping = import_corpus(data)
        print(f"corpus: {len(mapping['all'])} threads imported in {time.perf_counter() - t0:.1f} s")
        sets = query_sets(data, mapping, args.cjrc)
        results: dict[str, dict[str, dict]] = {}
        similar: dict[str, dict] = {}

        # 1. The baseline first, before our dictionary is loaded into jieba (it must not see it).
        results["baseline"] = run_variant("baseline", baseline_searcher(work, mapping["all"]), sets)
        if not args.quick:
            results["bigram"] = run_variant("bigram", bigram_searcher(work, mapping["all"]), sets)

        from qa.search import analysis, query, rebuild_index

        def ours(label: str, subwords: int, synonyms: bool, rerank: bool):
            analysis.SUBWORD_MAX = subwords
            analysis.forget_words()
            query.USE_SYNONYMS, query.USE_RERANK = synonyms, rerank
            t = time.perf_counter()
            rebuild_index(procs=1)
            build = time.perf_counter() - t
            from qa.search.index import close_searchers
            close_searchers()

            def search(text):
                res = query.run_search(text, per_page=10, snippets=False, exact_total=False)
                return [h.question.id for h in res.hits]
            results[label] = run_variant(label, search, sets, build, show_misses=args.misses and label == "chosen")
            if label in ("chosen", "whoosh"):
                similar[label] = similar_metrics(sets["consult"])

        if not args.quick:
            ours("jieba", 0, False, False)
            ours("+subwords", 4, False, False)
            ours("+synonyms", 4, True, False)
        ours("chosen", 4, True, True)
        if args.backend == "sql":
            app.config["QA_SEARCH_BACKEND"] = "whoosh"
            ours("whoosh", 4, True, True)

    print()
    print("Search quality (dev sets). MRR over the top 10; r@k = recall at k.")
    header = f"{'variant':<11}" + "".join(f"| {name:<33}" for name in sets)
    print(header)
    print(f"{'':<11}" + "".join(f"| {'r@1':>6} {'r@5':>6} {'r@10':>6} {'MRR':>6} {'ms':>5} " for _ in sets))
    for label, per_set in results.items():
        row = f"{label:<11}"
        for name in sets:
            m = per_set[name]
            row += f"| {m['r@1']:6.3f} {m['r@5']:6.3f} {m['r@10']:6.3f} {m['mrr']:6.3f} {m['ms']:5.1f} "
        print(row)
    print("queries: " + ", ".join(f"{name} {len(qs)}" for name, qs in sets.items()))
    base = results["baseline"]
    chosen = results["chosen"]
    for name in sets:
        print(f"{name}: chosen MRR {chosen[name]['mrr']:.3f} vs baseline {base[name]['mrr']:.3f} "
              f"({chosen[name]['mrr'] - base[name]['mrr']:+.3f}); r@5 {chosen[name]['r@5']:.3f} vs "
              f"{base[name]['r@5']:.3f}")
    for label, m in similar.items():
        print(f"similar questions while asking ({label}; consult questions as typed → their thread, top 5): "
              f"r@1 {m['r@1']:.3f} r@5 {m['r@5']:.3f} MRR {m['mrr']:.3f}, {m['ms']:.1f} ms a question")
    j = chosen["jicui"]
    print(f"targets on 集萃 dev: MRR ≥ 0.97 → {j['mrr']:.3f} {'OK' if j['mrr'] >= 0.97 else 'MISSED'}; "
          f"r@5 ≥ 0.99 → {j['r@5']:.3f} {'OK' if j['r@5'] >= 0.99 else 'MISSED'}")


def import_corpus(data: Path) -> dict:
    """Import the three sources; map each eval id to its question id."""
    from sqlalchemy import select

    from qa.extensions import db
    from qa.models import ThreadSource
    from qa.services.archive import _category_lookup, import_jicui, import_records, parse_thread_line

    import_jicui(data / "jicui")
    known, names = _category_lookup()
    consult = load_jsonl(data / "eval" / "consult_qa.dev.jsonl")
    passages = load_jsonl(data / "eval" / "cjrc_passages.jsonl")
    records, refs = [], {}
    for i, item in enumerate(consult):
        line = {"title": item["question"][:60], "body": item["question"], "category": "general",
                "answers": [{"body": item["answer"]}]}
        record = parse_thread_line(line, known, names)
        records.append((i, record))
        refs[("consult", item["qid"])] = record.ref
    for i, item in enumerate(passages):
        line = {"title": item.get("casename") or "裁判文书", "body": item["text"][:20000],
                "category": "civil" if item.get("domain") == "civil" else "criminal",
                "answers": [{"body": "（裁判文书片段）"}]}
        record = parse_thread_line(line, known, names)
        records.append((i, record))
        refs[("cjrc", item["doc_id"])] = record.ref
    import_records(records)
    by_ref = dict(db.session.execute(select(ThreadSource.ref, ThreadSource.question_id)).all())
    return {
        "jicui": {key: qid for key, qid in by_ref.items() if key.startswith("jicui:")},
        "consult": {k[1]: by_ref[ref] for k, ref in refs.items() if k[0] == "consult" and ref in by_ref},
        "cjrc": {k[1]: by_ref[ref] for k, ref in refs.items() if k[0] == "cjrc" and ref in by_ref},
        "all": sorted(by_ref.values()),
    }


def query_sets(data: Path, mapping: dict, cjrc_n: int) -> dict[str, list[tuple[str, int]]]:
    jicui = [(q["query"], mapping["jicui"][f"jicui:{q['batch']}:{q['item']}"])
             for q in load_jsonl(data / "eval" / "jicui_queries.dev.jsonl")
             if f"jicui:{q['batch']}:{q['item']}" in mapping["jicui"]]
    consult = [(q["question"][:200], mapping["consult"][q["qid"]])
               for q in load_jsonl(data / "eval" / "consult_qa.dev.jsonl") if q["qid"] in mapping["consult"]]
    cjrc_all = [(q["question"], mapping["cjrc"][q["doc_id"]])
                for q in load_jsonl(data / "eval" / "cjrc_question_to_passage.dev.jsonl")
                if q["doc_id"] in mapping["cjrc"]]
    if cjrc_n and len(cjrc_all) > cjrc_n:
        cjrc_all = random.Random(42).sample(cjrc_all, cjrc_n)
    return {"jicui": jicui, "consult": consult, "cjrc": cjrc_all}


def run_variant(label: str, search, sets, build_s: float | None = None, show_misses: bool = False) -> dict:
    out = {}
    for name, queries in sets.items():
        ranks = []
        t = time.perf_counter()
        for text, target in queries:
            ids = search(text)
            ranks.append(rank_of(target, ids))
            if show_misses and ranks[-1] != 1 and name != "cjrc":
                print(f"  {name} miss: rank {ranks[-1]} target {target} top {ids[:3]} query {text[:80]!r}")
        m = metrics(ranks)
        m["ms"] = (time.perf_counter() - t) * 1000 / max(len(queries), 1)
        out[name] = m
    summary = "  ".join(f"{n}: MRR {m['mrr']:.3f} r@5 {m['r@5']:.3f}" for n, m in out.items())
    print(f"{label:<11} {summary}" + (f"  (index built in {build_s:.1f} s)" if build_s else ""))
    return out


def similar_metrics(queries: list[tuple[str, int]]) -> dict:
    """The panel beside the ask form: the question as typed, its own thread among the 5 shown?"""
    from qa.search import similar_questions

    t = time.perf_counter()
    ranks = [rank_of(target, [h.question.id for h in similar_questions(text, limit=5)]) for text, target in queries]
    m = metrics(ranks)
    m["ms"] = (time.perf_counter() - t) * 1000 / max(len(queries), 1)
    return m


def _documents(ids: list[int]):
    from qa.extensions import db
    from qa.search.index import load_documents

    for start in range(0, len(ids), 500):
        for doc in load_documents(db.session, ids[start:start + 500]).values():
            if doc is not None:
                yield doc


def _title_content_index(path: Path, analyzer, ids: list[int]):
    """A Whoosh index of title and content with one analyzer (the comparison variants): (searcher, schema)."""
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema

    schema = Schema(id=ID(stored=True, unique=True), title=TEXT(analyzer=analyzer), content=TEXT(analyzer=analyzer))
    path.mkdir(exist_ok=True)
    ix = index.create_in(str(path), schema)
    writer = ix.writer()
    for doc in _documents(ids):
        writer.add_document(id=doc["id"], title=doc["title"], content=doc["content"])
    writer.commit()
    return ix.searcher(), schema


def baseline_searcher(work: Path, ids: list[int]):
    """jieba.analyse.ChineseAnalyzer over title and content, OR of the parsed query."""
    from jieba.analyse import ChineseAnalyzer
    from whoosh.qparser import MultifieldParser, OrGroup

    searcher, schema = _title_content_index(work / "baseline", ChineseAnalyzer(), ids)
    parser = MultifieldParser(["title", "content"], schema, group=OrGroup)

    def search(text):
        q = parser.parse(SYNTAX.sub(" ", text))
        return [int(hit["id"]) for hit in searcher.search(q, limit=10)]
    return search


def bigram_searcher(work: Path, ids: list[int]):
    from whoosh import query as Q
    from whoosh.analysis import NgramAnalyzer

    analyzer = NgramAnalyzer(2, 2)
    searcher, _schema = _title_content_index(work / "bigram", analyzer, ids)

    def search(text):
        grams = {t.text for t in analyzer(re.sub(r"[\W_]+", "", text))}
        q = Q.Or([Q.Term(f, g, boost=2.0 if f == "title" else 1.0) for g in grams for f in ("title", "content")])
        return [int(hit["id"]) for hit in searcher.search(q, limit=10)]
    return search


if __name__ == "__main__":
    main()
