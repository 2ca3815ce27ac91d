"""Evaluate our summarizer against Lead and a jieba TextRank on the dev pairs; print JSON.

ROUGE-1/2/L F1 at word level (rouge-chinese on jieba tokens) and at character level, for the
short Weibo posts (`source` LCSTS*, 40-character budget) and the long articles (the rest,
120 characters), with a paired bootstrap 95% interval of ours − Lead and ours − TextRank,
the time per article of ours and its peak memory beyond jieba's dictionary and idf table.

    .venv/bin/python bench/summary_eval.py [--data ../shared/data/summ-dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jieba
from rouge_chinese import Rouge

from bot.summarize import SUMMARIZER_VERSION, split_sentences, summarize
from bot.summarize.summarizer import article_sentences, cut_at_clause, fit_in_order, jieba_idf

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "summ-dev.jsonl"
SHORT_BUDGET, LONG_BUDGET = 40, 120
METRICS = ("rouge-1", "rouge-2", "rouge-l")
BOOTSTRAP_ROUNDS = 2000
TIMING_REPEATS = 5
PUNCTUATION = set("，。！？、；：“”‘’（）《》【】…—,.!?;:()[]\"' \n\t")

Summarizer = Callable[[str, int], str]


def ours(article: str, budget: int) -> str:
    return summarize("", article.split("\n"), max_chars=budget)


def lead(article: str, budget: int) -> str:
    """Whole leading sentences within the budget (a first sentence alone over it is cut at a
    clause boundary, exactly as ours is, so Lead never comes back empty)."""
    return fit_in_order(split_sentences(article), budget)


def lead_cleaned(article: str, budget: int) -> str:
    """Lead over our cleaned sentences (no datelines, boilerplate or subheadings): shows how
    much of the gain over Lead is cleaning and how much is ranking."""
    return fit_in_order(article_sentences(article.split("\n")), budget)


def textrank(article: str, budget: int) -> str:
    """TextRank over sentences (Mihalcea & Tarau 2004, as textrank4zh does it): jieba words,
    similarity = shared words / (log|S1| + log|S2|), PageRank with d = 0.85; the top-ranked
    sentences that fit the budget, in article order."""
    sentences = split_sentences(article)
    words = [
        {w for w in jieba.lcut(s) if w.strip() and not set(w) <= PUNCTUATION} for s in sentences
    ]
    n = len(sentences)
    weights = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            shared = len(words[i] & words[j])
            denominator = math.log(len(words[i]) + 1) + math.log(len(words[j]) + 1)
            if shared and denominator > 0:
                weights[i][j] = weights[j][i] = shared / denominator
    ranks = _pagerank(weights)
    order = sorted(range(n), key=lambda i: (-ranks[i], i))
    if not order:
        return ""
    if len(sentences[order[0]]) > budget:
        return cut_at_clause(sentences[order[0]], budget)
    chosen, used = [], 0
    for i in order:
        if used + len(sentences[i]) <= budget:
            chosen.append(i)
            used += len(sentences[i])
    return "".join(sentences[i] for i in sorted(chosen))


def _pagerank(weights: list[list[float]], damping: float = 0.85) -> list[float]:
    n = len(weights)
    if n == 0:
        return []
    out_sums = [sum(row) for row in weights]
    ranks = [1.0 / n] * n
    for _ in range(100):
        new = [
            (1 - damping) / n
            + damping
            * sum(ranks[j] * weights[j][i] / out_sums[j] for j in range(n) if weights[j][i])
            for i in range(n)
        ]
        if sum(abs(a - b) for a, b in zip(new, ranks, strict=True)) < 1e-6:
            return new
        ranks = new
    return ranks


def rouge_f(hypothesis: str, reference: str, *, level: str, scorer: Rouge) -> dict[str, float]:
    def tokens(text: str) -> str:
        pieces = jieba.lcut(text) if level == "word" else list(text)
        return " ".join(p for p in pieces if p.strip())

    hyp, ref = tokens(hypothesis), tokens(reference)
    if not hyp or not ref:
        return dict.fromkeys(METRICS, 0.0)
    scores = scorer.get_scores(hyp, ref)[0]
    return {m: scores[m]["f"] for m in METRICS}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], rng: random.Random) -> list[float]:
    """95% interval of mean(a − b) over resampled items."""
    differences = [x - y for x, y in zip(a, b, strict=True)]
    n = len(differences)
    means = sorted(
        sum(differences[rng.randrange(n)] for _ in range(n)) / n for _ in range(BOOTSTRAP_ROUNDS)
    )
    return [
        round(means[int(0.025 * BOOTSTRAP_ROUNDS)], 4),
        round(means[int(0.975 * BOOTSTRAP_ROUNDS) - 1], 4),
    ]


def evaluate_subset(rows: list[dict[str, str]], budget: int, scorer: Rouge) -> dict[str, object]:
    systems: dict[str, Summarizer] = {
        "ours": ours,
        "lead": lead,
        "textrank": textrank,
        "lead_cleaned": lead_cleaned,
    }
    per_item: dict[str, dict[str, list[float]]] = {
        name: {f"{level}/{m}": [] for level in ("word", "char") for m in METRICS}
        for name in systems
    }
    for row in rows:
        for name, system in systems.items():
            summary = system(row["article"], budget)
            assert len(summary) <= budget, (name, row["id"], summary)
            for level in ("word", "char"):
                for metric, value in rouge_f(
                    summary, row["summary"], level=level, scorer=scorer
                ).items():
                    per_item[name][f"{level}/{metric}"].append(value)
    rng = random.Random(20261126)
    result: dict[str, object] = {"n": len(rows), "budget_chars": budget}
    for name in systems:
        result[name] = {k: round(statistics.fmean(v), 4) for k, v in per_item[name].items()}
    for baseline in ("lead", "textrank", "lead_cleaned"):
        result[f"ours_minus_{baseline}_95ci"] = {
            key: paired_bootstrap(per_item["ours"][key], per_item[baseline][key], rng)
            for key in per_item["ours"]
        }
    return result


def time_and_memory(rows: list[dict[str, str]], budget: int) -> dict[str, float]:
    """Milliseconds per article (each timed TIMING_REPEATS times) and the peak memory of a
    pass over all of them, traced after jieba's dictionary and idf table are loaded."""
    times = []
    for row in rows:
        for _ in range(TIMING_REPEATS):
            start = time.perf_counter()
            ours(row["article"], budget)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    tracemalloc.start()
    for row in rows:
        ours(row["article"], budget)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "median_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)], 3),
        "peak_mem_mb_beyond_jieba": round(peak / 2**20, 3),
    }


def load_jieba() -> dict[str, float]:
    """Load jieba's dictionary and idf table once, before anything is timed; their size."""
    tracemalloc.start()
    jieba.initialize()
    jieba_idf()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    ours("预热：加载词典。再来一句。", LONG_BUDGET)
    return {"jieba_dictionary_and_idf_mb": round(size / 2**20, 1)}


def targets_met(report: dict[str, Any]) -> dict[str, bool]:
    """The issue's targets, checked on this run's figures."""
    met = {}
    for subset in ("short_lcsts", "long_articles"):
        result = report[subset]
        met[f"{subset}: ours - lead 95% CI not entirely below 0 (every metric)"] = all(
            high >= 0 for _, high in result["ours_minus_lead_95ci"].values()
        )
        met[f"{subset}: ours > textrank on word ROUGE-L"] = (
            result["ours"]["word/rouge-l"] > result["textrank"]["word/rouge-l"]
        )
    timing = report["timing_ours"]["long_articles"]
    met["long articles: median <= 1 ms"] = timing["median_ms"] <= 1.0
    met["peak memory beyond jieba <= 50 MB"] = all(
        t["peak_mem_mb_beyond_jieba"] <= 50
        for t in report["timing_ours"].values()
        if isinstance(t, dict)
    )
    return met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    jieba.setLogLevel(logging.WARNING)
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    short = [r for r in rows if r["source"].startswith("LCSTS")]
    long = [r for r in rows if not r["source"].startswith("LCSTS")]
    loaded = load_jieba()
    scorer = Rouge()
    report: dict[str, Any] = {
        "data": str(args.data),
        "summarizer_version": SUMMARIZER_VERSION,
        "short_lcsts": evaluate_subset(short, SHORT_BUDGET, scorer),
        "long_articles": evaluate_subset(long, LONG_BUDGET, scorer),
        "timing_ours": {
            "long_articles": time_and_memory(long, LONG_BUDGET),
            "short_lcsts": time_and_memory(short, SHORT_BUDGET),
            **loaded,
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(),
        },
    }
    report["targets_met"] = targets_met(report)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(re.sub(r"\[\s+(-?[\d.]+),\s+(-?[\d.]+)\s+\]", r"[\1, \2]", text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
