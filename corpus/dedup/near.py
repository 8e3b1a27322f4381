"""Near duplicates over every batch's keys: LSH candidates, exact verification, star clusters.

1. Documents are numbered in a canonical order (id, then lineage), so nothing depends on the
   input order or on how it was batched; an earlier release's documents come after. The deciding
   process never holds every document's key row: it sorts 16-byte id prefixes read part by part
   (ties, which need the whole id and lineage, are read again), keeps where each document's keys
   are and its group (17 bytes a document, 32 more while sorting), and reads the survivor-order
   columns only of documents in a candidate pair.
2. Candidate pairs: documents of one group sharing an LSH bucket in any band. Band keys are
   gathered a few bands at a time from each batch's stored keys, as rows (document, group, band,
   key) that the engine brings together by bucket (memory: 18 bytes per document and band read,
   in one process for the local engine, spread over the cluster for Ray).
3. Verification: pairs whose estimated Jaccard (share of equal signature values) is at least
   `threshold - verify_margin` get their exact n-gram Jaccard, from the n-grams of only those
   documents' texts, hashed once per part and kept in scratch files, then read a chunk of pairs
   at a time (`corpus.dedup.verify`: a gather and a regroup, so on the cluster with Ray). A pair is
   an edge when that Jaccard is >= `threshold` (the estimate, for a document of an earlier release,
   whose text is not here).
4. Star clusters, not connected components: in order of most verified neighbours (ties: survivor
   order), a document not yet taken becomes a centre and takes every neighbour not yet taken; the others
   start their own. The star keeps its centre, or the member survivor order prefers when that one
   is within `threshold` of every other member. So a document is removed only when it is itself
   within `threshold` of the one kept for it: a drifting chain (A~B, B~C, A≁C) keeps B and removes
   A and C, never A alone; an original with two reprints that differ from each other keeps the
   original and removes both (greedy in survivor order, the first reprint would take the original
   and leave the second).
   Documents of an earlier release always survive and are centres first.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from corpus.config import DedupConfig
from corpus.dedup.clusters import clusters, star_inputs
from corpus.dedup.lsh import Signatures, band_keys, bucket_pairs, estimated_jaccard, packed, unpacked
from corpus.dedup.normalise import survivor_order
from corpus.dedup.store import Earlier
from corpus.dedup.verify import exact_jaccard
from corpus.step import KEY, PART, ROW, Gather, KeyStore, load_array

# Bands whose keys are held at once: 8 bands are 64 MB per million documents.
BANDS_AT_ONCE = 8
# Stars up to this size may keep a better member than their centre (checked pair by pair); a bigger
# star (a template copied thousands of times) keeps its centre.
SWAP_CHECK_MEMBERS = 64


def near_duplicates(store: KeyStore, section: DedupConfig, earlier: Earlier | None) -> pl.DataFrame:
    """Rows to remove: `_part`, `_row`, `keeper` (id), `similarity`, `from_earlier`."""
    blocks = store.arrays("minhash")
    starts = np.concatenate([[0], np.cumsum([block.shape[0] for block in blocks])]).astype(np.int64)
    codes: dict[str, int] = {}
    stacked, groups = canonical_order(store, starts, codes)
    here, old = stacked.size, None
    if earlier is not None:
        group = pl.col("language").fill_null("") if section.scope == "language" else pl.lit("")
        old = earlier.rows.with_columns(_group=group, _earlier=pl.lit(True))
        old = old.with_columns(*(pl.lit(None, pl.UInt32).alias(c) for c in (PART, ROW, KEY)))
        old = old.select(ORDER_COLUMNS)
        stacked = np.concatenate([stacked, starts[-1] + np.arange(old.height)])
        groups = np.concatenate([groups, _group_codes(old["_group"], codes)])
        blocks = [*blocks, earlier.signatures]
    if stacked.size == 0:
        return pl.DataFrame(schema=GONE)
    signatures = Signatures(blocks, stacked)
    with tempfile.TemporaryDirectory(dir=store.scratch()) as scratch:
        pairs = _candidates(store, section, groups, stacked, earlier, Path(scratch))
    left, right, estimate = _close_pairs(signatures, pairs, section)
    involved = np.unique(np.concatenate([left, right]))
    docs = _involved_documents(store, starts, stacked, involved, here, old)
    edges = _edges(store, docs, involved, (left, right, estimate), here, section)
    at = {
        side: np.searchsorted(involved, edges[side].to_numpy()).astype(np.uint32)
        for side in ("left", "right")
    }
    return clusters(store, docs, edges.with_columns(**at), partial(_star_group, section=section))


def canonical_order(
    store: KeyStore, starts: np.ndarray, codes: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The live documents of every part in the canonical order (id, then lineage): where each
    one's keys are (its part's start + its `_key`) and its group's code (`codes` grows)."""
    where, prefixes = [], []
    group_at = np.zeros(int(starts[-1]), dtype=np.uint32)
    for part in range(store.part_count()):
        keys = store.part_keys(part).select("id", "_group", KEY)
        where.append(starts[part] + keys[KEY].to_numpy().astype(np.int64))
        prefixes.append(id_prefixes(keys["id"]))
        group_at[where[-1]] = _group_codes(keys["_group"], codes)
    if not where:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
    prefix = np.concatenate(prefixes)
    order = np.lexsort((prefix[:, 1], prefix[:, 0]))
    stacked = np.concatenate(where)[order]
    prefix = prefix[order]
    same = np.flatnonzero((prefix[1:] == prefix[:-1]).all(axis=1))
    if same.size:  # equal prefixes: the whole id, then the lineage, decide among them
        # Sorted together, not run by run: prefixes order whole ids, so each run keeps its places.
        tied = np.unique(np.concatenate([same, same + 1]))
        columns = ["id", "source_name", "source_file", "source_line"]
        ranked = _rows_at(store, starts, stacked[tied], columns).with_columns(_at=pl.Series(stacked[tied]))
        stacked[tied] = ranked.sort(columns)["_at"].to_numpy()
    return stacked, group_at[stacked]


def id_prefixes(ids: pl.Series) -> np.ndarray:
    """The first 16 bytes of each id (UTF-8, zero-padded) as two big-endian uint64: sorting them
    sorts the ids as polars does (by bytes), except among equal prefixes."""
    array = ids.fill_null("").to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.large_string())
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    at = offsets[:-1, None] + np.arange(16)
    inside = at < offsets[1:, None]
    padded = np.zeros(at.shape, dtype=np.uint8)
    padded[inside] = data[at[inside]]
    return padded.view(">u8").astype(np.uint64)


def _group_codes(values: pl.Series, codes: dict[str, int]) -> np.ndarray:
    """A code per group name (codes only meet each other: any consistent numbering will do)."""
    for name in values.unique().sort().to_list():
        codes.setdefault(name, len(codes))
    return values.replace_strict(codes, return_dtype=pl.UInt32).to_numpy()


def _rows_at(store: KeyStore, starts: np.ndarray, stacked: np.ndarray, columns: list[str]) -> pl.DataFrame:
    """`columns` of the key rows at these stacked positions (a part's start + its `_key`), in
    this order, each part read once."""
    part = np.searchsorted(starts, stacked, side="right") - 1
    wanted = pl.DataFrame({"_i": np.arange(stacked.size), PART: part, KEY: stacked - starts[part]})
    found = []
    for (number,), rows in wanted.group_by(PART, maintain_order=True):
        keys = store.part_keys(int(number)).select(*columns, KEY, ROW)
        keys = keys.with_columns(pl.col(KEY).cast(pl.Int64), pl.lit(number, pl.UInt32).alias(PART))
        found.append(rows.select("_i", KEY).join(keys, on=KEY, how="left"))
    if not found:
        return pl.DataFrame(
            schema={**{c: pl.Null for c in columns}, PART: pl.UInt32, ROW: pl.UInt32, KEY: pl.UInt32}
        )
    return pl.concat(found).sort("_i").drop("_i").with_columns(pl.col(KEY).cast(pl.UInt32))


def _involved_documents(
    store: KeyStore,
    starts: np.ndarray,
    stacked: np.ndarray,
    involved: np.ndarray,
    here: int,
    old: pl.DataFrame | None,
) -> pl.DataFrame:
    """`ORDER_COLUMNS` of the documents in a close pair (numbers `involved`, ascending): read from
    their parts, or the earlier release's rows for numbers from `here` on."""
    mine = involved[involved < here]
    columns = [c for c in ORDER_COLUMNS if c not in (PART, ROW, KEY, "_earlier")]
    docs = _rows_at(store, starts, stacked[mine], columns).with_columns(_earlier=pl.lit(False))
    docs = docs.select(ORDER_COLUMNS)
    if old is not None:
        docs = pl.concat([docs, old[involved[involved >= here] - here]], how="vertical_relaxed")
    return docs


ORDER_COLUMNS = [
    "id",
    "source",
    "published_at",
    "published_date",
    "text_chars",
    "_group",
    "_earlier",
    PART,
    ROW,
    KEY,
]
GONE = {
    PART: pl.UInt32,
    ROW: pl.UInt32,
    "keeper": pl.String,
    "similarity": pl.Float64,
    "from_earlier": pl.Boolean,
}


def _candidates(
    store: KeyStore,
    section: DedupConfig,
    groups: np.ndarray,
    stacked: np.ndarray,
    earlier: Earlier | None,
    folder: Path,
) -> pl.DataFrame:
    """Candidate pairs, a gather of every part's band keys by (group, band, key), `BANDS_AT_ONCE`
    bands a slice. Workers find the documents' numbers and groups in `folder` (shared scratch)."""
    bands, rows = section.bands_rows
    parts = store.part_count()
    sizes = [store.part_array("bands", part).shape[0] for part in range(parts)]
    if earlier is not None:
        np.save(folder / "earlier.npy", band_keys(earlier.signatures, bands, rows))
        sizes.append(earlier.signatures.shape[0])
    numbers = np.full(sum(sizes), -1, dtype=np.int64)
    numbers[stacked] = np.arange(stacked.size)
    np.save(folder / "numbers.npy", numbers)
    np.save(folder / "groups.npy", groups)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()
    slices = -(-bands // BANDS_AT_ONCE)
    loader = BandRows(folder, starts, bands)
    found = store.gather(Gather(len(sizes), slices, ("group", "band", "key"), loader, bucket_pairs))
    return unpacked(np.unique(packed(found)) if found.height else np.zeros(0, dtype=np.uint64))


@dataclass(frozen=True)
class BandRows:
    """A gather's rows for candidate pairs: for one part (or, after the parts, the earlier
    release) and one slice of `BANDS_AT_ONCE` bands, a row (doc, group, band, key) per live
    document and band, documents numbered in the canonical order (memory: 15 bytes a row)."""

    folder: Path
    starts: list[int]
    bands: int

    def __call__(self, store: KeyStore, part: int, number: int) -> pl.DataFrame:
        chosen = np.arange(number * BANDS_AT_ONCE, min((number + 1) * BANDS_AT_ONCE, self.bands))
        if part < store.part_count():
            keys = store.part_array("bands", part)
        else:
            keys = load_array(self.folder / "earlier.npy")
        numbers = load_array(self.folder / "numbers.npy")
        numbers = numbers[self.starts[part] : self.starts[part + 1]]
        live = np.flatnonzero(numbers >= 0)
        docs = np.asarray(numbers[live])
        groups = load_array(self.folder / "groups.npy")[docs]
        held = np.asarray(keys[:, chosen.min() : chosen.max() + 1])[live] if chosen.size else np.zeros((0, 0))
        return pl.DataFrame(
            {
                "doc": np.tile(docs, chosen.size).astype(np.uint32),
                "group": np.tile(groups, chosen.size).astype(np.uint32),
                "band": np.repeat(chosen, docs.size).astype(np.uint16),
                "key": held.T.ravel().astype(np.uint64),
            }
        )


def _star_group(frame: pl.DataFrame, section: DedupConfig) -> pl.DataFrame:
    """`_stars` over whole connected components (`corpus.dedup.clusters.star_inputs` rows)."""
    docs, edges = star_inputs(frame)
    return _stars(docs.select(ORDER_COLUMNS), edges, section)


def _close_pairs(
    signatures: Signatures, pairs: pl.DataFrame, section: DedupConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs whose estimated Jaccard is within `threshold - verify_margin`, and that estimate."""
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    estimate = estimated_jaccard(signatures, left, right)
    close = estimate >= section.threshold - section.verify_margin
    return left[close], right[close], estimate[close]


def _edges(
    store: KeyStore,
    docs: pl.DataFrame,
    involved: np.ndarray,
    close: tuple[np.ndarray, np.ndarray, np.ndarray],
    here: int,
    section: DedupConfig,
) -> pl.DataFrame:
    """Close pairs verified exactly when both documents are in this build (`docs`: the rows of
    the `involved` numbers); edges are the pairs at or above the threshold."""
    left, right, similarity = close
    similarity = similarity.copy()
    both = np.flatnonzero((left < here) & (right < here))
    if both.size:
        wanted = np.unique(np.concatenate([left[both], right[both]]))
        places = docs.select(PART, ROW)[np.searchsorted(involved, wanted)]
        places = places.with_columns(doc=pl.Series(wanted))
        with tempfile.TemporaryDirectory(dir=store.scratch()) as scratch:
            pairs = (left[both], right[both])
            similarity[both] = exact_jaccard(store, places, pairs, section.ngram, Path(scratch))
    keep = similarity >= section.threshold
    return pl.DataFrame({"left": left[keep], "right": right[keep], "similarity": similarity[keep]})


def _stars(docs: pl.DataFrame, edges: pl.DataFrame, section: DedupConfig) -> pl.DataFrame:
    """Greedy star clusters (see the module docstring): the removed documents, each with the
    survivor kept for it and their similarity."""
    if edges.height == 0:
        return pl.DataFrame(schema=GONE)
    left, right = edges["left"].to_numpy().astype(np.int64), edges["right"].to_numpy().astype(np.int64)
    ends, others = np.concatenate([left, right]), np.concatenate([right, left])
    by_node = np.argsort(ends, kind="stable")
    bounds = np.searchsorted(ends[by_node], np.arange(docs.height + 1))
    neighbours = others[by_node].tolist()
    degree = np.diff(bounds)
    ranked = docs.with_row_index("_doc").with_columns(_degree=pl.Series(-degree))
    rank = ranked.sort([*survivor_order(section.outlet_priority), "_doc"])["_doc"].to_numpy()
    survivor_rank = np.empty(docs.height, dtype=np.int64)
    survivor_rank[rank] = np.arange(docs.height)
    ranked = ranked.with_columns(_rank=pl.Series(survivor_rank))
    order = ranked.sort(pl.col("_earlier").not_(), "_degree", "_rank")["_doc"].to_numpy()
    earlier = docs["_earlier"].to_numpy()
    linked = np.zeros(docs.height, dtype=bool)
    linked[ends] = True
    state = np.zeros(docs.height, dtype=np.int8)  # 0 free, 1 survivor, 2 taken
    keeper = np.full(docs.height, -1, dtype=np.int64)
    for node in order[linked[order]].tolist():
        if state[node]:
            continue
        star = [node] + [
            o for o in neighbours[bounds[node] : bounds[node + 1]] if not state[o] and not earlier[o]
        ]
        kept = node if earlier[node] else _best_centre(star, survivor_rank, neighbours, bounds)
        state[star], state[kept] = 2, 1
        keeper[star], keeper[kept] = kept, -1
    taken = np.flatnonzero(keeper >= 0)
    return pl.DataFrame(
        {
            PART: docs[PART].gather(taken),
            ROW: docs[ROW].gather(taken),
            "keeper": docs["id"].gather(keeper[taken]),
            "similarity": np.round(_edge_similarity(edges, taken, keeper[taken]), 4),
            "from_earlier": earlier[keeper[taken]],
        },
        schema=GONE,
    )


def _best_centre(
    star: list[int], survivor_rank: np.ndarray, neighbours: list[int], bounds: np.ndarray
) -> int:
    """The member of a star (its centre first) that survivor order prefers among those within the
    threshold of every other member (its neighbours hold them all); the centre when none is better
    (or the star is too big to check)."""
    if len(star) > SWAP_CHECK_MEMBERS:
        return star[0]
    for member in sorted(star, key=lambda m: survivor_rank[m]):
        if member == star[0]:
            return member
        adjacent = set(neighbours[bounds[member] : bounds[member + 1]])
        if all(other in adjacent for other in star if other != member):
            return member
    return star[0]


def _pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One integer per unordered pair of document numbers."""
    low, high = np.minimum(a, b).astype(np.uint64), np.maximum(a, b).astype(np.uint64)
    return (low << np.uint64(32)) | high


def _edge_similarity(edges: pl.DataFrame, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The similarity of edge (a[i], b[i]) for each i (every such pair is an edge)."""
    keys = _pair_keys(edges["left"].to_numpy(), edges["right"].to_numpy())
    order = np.argsort(keys)
    found = order[np.searchsorted(keys[order], _pair_keys(a, b))]
    return edges["similarity"].to_numpy()[found]
