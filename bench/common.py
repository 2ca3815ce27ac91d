"""What the benchmark scripts share: the synthetic corpus, reading it, and percentiles."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.ingest.sources import RawPost

REPO = Path(__file__).resolve().parent.parent
SYNTH = REPO.parent / "shared" / "tools" / "synth_corpus.py"


def synth_corpus(posts: int, folder: Path) -> Path:
    """`synth_corpus.py --count N --jsonl`, made once per folder and reused: it is deterministic."""
    path = folder / f"synth-{posts}.jsonl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        command = [sys.executable, str(SYNTH), "--count", str(posts), "--jsonl", str(partial)]
        subprocess.run(command, check=True)
        partial.rename(path)
    return path


def read_posts(path: Path) -> Iterator[RawPost]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            yield RawPost(origin=item["name"], filename=item["name"], text=item["text"])


def percentiles(samples: list[float]) -> dict[str, float]:
    """Median and 99th percentile (nearest rank) of timings in seconds, in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "samples": len(ordered),
    }
