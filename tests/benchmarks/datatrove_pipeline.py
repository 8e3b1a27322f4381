"""datatrove's MinHash dedup pipeline on a folder of JSONL files: the other side of bench_e2e.

Run as a script so that its worker processes are measured like `corpus build`:
`python tests/benchmarks/datatrove_pipeline.py INPUT_FOLDER WORK_FOLDER`. It writes the surviving
documents to WORK/output/*.parquet, the clustering's `.remove` and `.clusters` files (per task,
in reading order) to WORK/minhash/remove_ids/ and the seconds of each stage to WORK/stages.json.
Needs the `bench` extra; datatrove is only called as a library.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

# Readers give each task whole files: one task per input file, both running at once (2 cores).
TASKS = 2
WORKERS = 2


def minhash_config() -> Any:
    """datatrove's own defaults, spelled out: word 5-grams, 14 bands of 8 hashes (64-bit).
    The shingle hash is sha1, datatrove's other built-in: its default xxhash wrapper hands str to
    xxhash, which xxhash >= 4 (pinned for corpus) rejects."""
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.utils.hashing import HashConfig

    return MinhashConfig(
        n_grams=5,
        num_buckets=14,
        hashes_per_bucket=8,
        hash_config=HashConfig(precision=64, hash_fc="sha1"),
    )


def stages(input_folder: Path, work: Path) -> list[tuple[str, Any]]:
    """The four executors of datatrove's MinHash example, in order, with their widths."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.formatters import FTFYFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    config = minhash_config()
    minhash, logs = work / "minhash", work / "logs"

    def reader() -> JsonlReader:
        return JsonlReader(str(input_folder), glob_pattern="*.jsonl", text_key="text", id_key="id")

    signatures = [
        reader(),
        FTFYFormatter(),
        MinhashDedupSignature(str(minhash / "signatures"), config=config),
    ]
    buckets = [MinhashDedupBuckets(str(minhash / "signatures"), str(minhash / "buckets"), config=config)]
    # Cluster ids are saved only so the benchmark can name each removed document's survivor.
    cluster = [
        MinhashDedupCluster(
            str(minhash / "buckets"), str(minhash / "remove_ids"), config=config, save_cluster_id=True
        )
    ]
    # The filter re-reads the input; a formatter never drops a document, so repairing after the
    # filter keeps the indices aligned and spares repairing the duplicates a second time.
    release = [
        reader(),
        MinhashDedupFilter(str(minhash / "remove_ids")),
        FTFYFormatter(),
        ParquetWriter(str(work / "output")),
    ]
    return [
        (
            "signatures",
            LocalPipelineExecutor(signatures, tasks=TASKS, workers=WORKERS, logging_dir=str(logs / "1")),
        ),
        # Buckets need a multiple of num_buckets tasks: one per band, two at a time.
        (
            "buckets",
            LocalPipelineExecutor(
                buckets, tasks=config.num_buckets, workers=WORKERS, logging_dir=str(logs / "2")
            ),
        ),
        # Clustering is one task by design (a union-find over every duplicate pair).
        ("cluster", LocalPipelineExecutor(cluster, tasks=1, workers=1, logging_dir=str(logs / "3"))),
        ("filter", LocalPipelineExecutor(release, tasks=TASKS, workers=WORKERS, logging_dir=str(logs / "4"))),
    ]


def main(input_folder: Path, work: Path) -> None:
    """Run the stages one after the other (each waits for the previous one) and time them."""
    seconds = {}
    for name, executor in stages(input_folder, work):
        started = time.perf_counter()
        executor.run()
        seconds[name] = time.perf_counter() - started
    (work / "stages.json").write_text(json.dumps(seconds), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
