"""fastText's lid.176 model read from its file and run in numpy over a whole batch of texts.

Why our own: fastText's Python binding classifies one text per call (79-100 µs for a 128-character
news unit, a third of the language step) and its batch call returns no probabilities. This reads
the same quantised model file and repeats fastText's arithmetic in the same order and precision
(float32 sums in input order, no fused multiply-add, the hierarchical softmax's depth-first search
with its pruning): 35 µs a unit over a worker's batches of news. Labels equal fastText's; a
probability can differ in its last bit, since exponentials are computed in float64 and rounded
(the C library's `expf`, which fastText calls, is not correctly rounded and differs between CPUs).

The model: a dictionary of 7,235 words and 176 labels; inputs are a word's row (when known) and
its character 2- to 4-grams (FNV-1a hashed into 2M buckets, of which 42,765 were kept) of
`<word>`; rows are product-quantised (8 sub-vectors of 2, 256 centroids each, times a quantised
norm). The hidden vector is the mean of a line's rows; labels are leaves of a Huffman tree."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from corpus.errors import CorpusError

MAGIC, VERSION = 793712314, 12
EOS, BOW, EOW = "</s>", "<", ">"
LABEL_PREFIX = "__label__"
# What ends a word for fastText besides a space (a newline would also end the line).
SEPARATORS = r"[\n\r\t\x0B\x0C\x00]"
CENTROIDS = 256  # per sub-quantiser
FNV_OFFSET, FNV_PRIME = np.uint32(2166136261), np.uint32(16777619)
HIERARCHICAL_SOFTMAX, SUPERVISED = 1, 3
# A label's log-probability below log(0 + 1e-5) is not searched (fastText's threshold 0).
FLOOR = np.float32(np.log(1e-5))
# Words whose input rows a process keeps across batches (~125 bytes each with their rows): news
# repeats its vocabulary, and from the fourth batch of make_corpus news on, 74-88% of a batch's
# distinct words had been read before.
KEPT_WORDS = 200_000


@dataclass
class _Seen:
    """The input rows of words this process has read (up to KEPT_WORDS): `rows` end to end, and
    per slot where a word's rows start and how many it has."""

    slots: dict[str, int] = field(default_factory=dict)
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    firsts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


@dataclass(frozen=True)
class Lid176:
    """The model as arrays: every input row decoded, the pruned buckets as a dense table, the
    output rows of the tree's inner nodes, and the tree in depth-first (left first) order."""

    words: dict[str, int]  # word -> its input row
    labels: list[str]  # leaf (label index) -> language code
    rows: np.ndarray  # (rows, dim) float32: norm × centroids, as fastText adds them
    buckets: np.ndarray  # int32 per n-gram bucket: its input row, -1 when pruned
    output: np.ndarray  # (labels - 1, dim) float32: one row per inner node
    order: list[int]  # every node but the root, depth first, left child first
    parent: np.ndarray  # int per node
    right: np.ndarray  # bool per node: it is its parent's right child
    minn: int
    maxn: int
    seen: _Seen = field(default_factory=_Seen, compare=False, repr=False)


class _Reader:
    """Little-endian fields of fastText's binary format, in file order."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fields: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fields, self.data, self.at)
        self.at += struct.calcsize("<" + fields)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        out: np.ndarray = np.frombuffer(self.data, dtype, count, self.at)
        self.at += out.nbytes
        return out

    def word(self) -> str:
        end = self.data.index(b"\0", self.at)
        text = self.data[self.at : end].decode("utf-8", "surrogateescape")
        self.at = end + 1
        return text


def read_model(data: bytes) -> Lid176:
    """The model from the bytes of a quantised supervised fastText file (`.ftz`)."""
    reader = _Reader(data)
    if reader.take("2i") != (MAGIC, VERSION):
        raise CorpusError("language: the base model is not a fastText model of format 12")
    dim, _, _, _, _, word_ngrams, loss, model, bucket, minn, maxn, _ = reader.take("12i")
    reader.take("d")
    size, nwords, _ = reader.take("3i")
    _, pruned = reader.take("2q")
    entries = [(reader.word(), *reader.take("qb")) for _ in range(size)]
    pairs = reader.array(np.int32, 2 * pruned).reshape(-1, 2)
    quantised, with_norms = reader.take("??")
    if (word_ngrams, loss, model, quantised) != (1, HIERARCHICAL_SOFTMAX, SUPERVISED, True):
        raise CorpusError("language: the base model is not a quantised hierarchical-softmax classifier")
    count, _ = reader.take("2q")
    (code_bytes,) = reader.take("i")
    codes = reader.array(np.uint8, code_bytes).reshape(count, -1)
    quantiser = _quantiser(reader)
    norms = np.ones(count, np.float32)
    if with_norms:
        norm_codes = reader.array(np.uint8, count)
        norms = _quantiser(reader)[0][norm_codes]
    if reader.take("?") != (False,):
        raise CorpusError("language: the base model's output matrix is quantised")
    rows_out, dim_out = reader.take("2q")
    output = reader.array(np.float32, rows_out * dim_out).reshape(rows_out, dim_out).copy()
    buckets = np.full(bucket, -1, np.int32)
    buckets[pairs[:, 0]] = pairs[:, 1] + nwords
    parent, right, order = _tree([entry[1] for entry in entries[nwords:]])
    return Lid176(
        words={entry[0]: row for row, entry in enumerate(entries[:nwords])},
        labels=[entry[0].removeprefix(LABEL_PREFIX) for entry in entries[nwords:]],
        rows=_decoded(codes, norms, *quantiser, dim),
        buckets=buckets,
        output=output,
        order=order,
        parent=parent,
        right=right,
        minn=minn,
        maxn=maxn,
    )


def _quantiser(reader: _Reader) -> tuple[np.ndarray, int, int, int]:
    """A product quantiser: centroids (flat), sub-quantisers, their size, the last one's size."""
    dim, subquantisers, size, last = reader.take("4i")
    return reader.array(np.float32, dim * CENTROIDS), subquantisers, size, last


def _decoded(
    codes: np.ndarray, norms: np.ndarray, centroids: np.ndarray, parts: int, size: int, last: int, dim: int
) -> np.ndarray:
    """Every input row as fastText adds it to the hidden vector: norm × centroid, in float32."""
    rows = np.zeros((codes.shape[0], dim), np.float32)
    for part in range(parts):
        width = last if part == parts - 1 else size
        table = centroids[part * CENTROIDS * size :][: CENTROIDS * width].reshape(CENTROIDS, width)
        rows[:, part * size : part * size + width] = norms[:, None] * table[codes[:, part]]
    return rows


def _tree(counts: list[int]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """fastText's Huffman tree over label counts: each node's parent, whether it is a right
    child, and the depth-first order (left first) its search visits nodes in."""
    labels = len(counts)
    nodes = 2 * labels - 1
    weight = [*counts, *([10**15] * (labels - 1))]
    parent = np.full(nodes, -1, np.int64)
    right = np.zeros(nodes, bool)
    children: dict[int, tuple[int, int]] = {}
    leaf, inner = labels - 1, labels
    for node in range(labels, nodes):
        pair = []
        for _ in range(2):
            if leaf >= 0 and weight[leaf] < weight[inner]:
                pair.append(leaf)
                leaf -= 1
            else:
                pair.append(inner)
                inner += 1
        children[node] = (pair[0], pair[1])
        weight[node] = weight[pair[0]] + weight[pair[1]]
        parent[pair] = node
        right[pair[1]] = True
    order, stack = [], [nodes - 1]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(children.get(node, ())))
    return parent, right, order[1:]


def predict(model: Lid176, texts: pl.Series | list[str], max_chars: int) -> tuple[list[str], list[float]]:
    """Top label and its probability for each text, read as fastText reads one line: the middle
    `max_chars` characters, split at ASCII white space, each word's rows, then the end of line."""
    if not len(texts):
        return [], []
    tokens = _tokens(texts, max_chars)
    distinct = tokens["token"].unique(maintain_order=True)
    pool, firsts, counts = word_rows(model, distinct.to_list())
    kinds = pl.DataFrame({"token": distinct, "kind": np.arange(distinct.len(), dtype=np.int64)})
    read = tokens.join(kinds, on="token", how="left", maintain_order="left")
    units, kind = read["unit"].to_numpy().astype(np.int64), read["kind"].to_numpy()
    sizes = counts[kind]
    rows = pool[np.repeat(firsts[kind] - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())]
    lengths = np.bincount(units, weights=sizes, minlength=len(texts)).astype(np.int64)
    # Every line ends with an end-of-line word, unless a literal `</s>` already ended it.
    open_lines = np.ones(len(texts), bool)
    open_lines[read.filter(pl.col("token") == EOS)["unit"].to_numpy()] = False
    rows = np.insert(rows, np.cumsum(lengths)[open_lines], model.words[EOS])
    lengths += open_lines
    return _search(model, _means(model.rows, rows, lengths))


def _tokens(texts: pl.Series | list[str], max_chars: int) -> pl.DataFrame:
    """`unit` and `token` in reading order: the middle `max_chars` characters of each text split at
    fastText's separators, label-like words dropped (fastText skips them), nothing after a `</s>`."""
    chars = pl.col("text").str.len_chars().cast(pl.Int64)
    middle = pl.col("text").str.slice(pl.max_horizontal((chars - max_chars) // 2, 0), max_chars)
    words = (
        pl.DataFrame({"text": texts}, schema={"text": pl.String})
        .with_row_index("unit")
        .select("unit", token=middle.str.replace_all(SEPARATORS, " ").str.split(" "))
        .explode("token")
        .filter(pl.col("token").str.len_bytes() > 0, ~pl.col("token").str.starts_with(LABEL_PREFIX))
    )
    eos = pl.col("token") == EOS
    if not words.select(eos.any()).item():
        return words
    return words.filter((eos.cum_sum() - eos).over("unit") == 0)


def word_rows(model: Lid176, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each word's input rows (see `subword_rows`): a pool of rows, and per word where its rows
    start in the pool and how many it has. Words read before come from `model.seen`."""
    seen = model.seen
    slot = np.fromiter((seen.slots.get(word, -1) for word in words), np.int64, len(words))
    fresh = np.flatnonzero(slot < 0)
    flat, counts = subword_rows(model, [words[i] for i in fresh.tolist()])
    pool = np.concatenate([seen.rows, flat.astype(np.int32)])
    firsts, sizes = np.empty(len(words), np.int64), np.empty(len(words), np.int64)
    known = slot >= 0
    firsts[known], sizes[known] = seen.firsts[slot[known]], seen.counts[slot[known]]
    firsts[fresh], sizes[fresh] = seen.rows.size + np.cumsum(counts) - counts, counts
    kept = fresh[: max(KEPT_WORDS - len(seen.slots), 0)]
    if kept.size:
        numbers = range(len(seen.slots), len(seen.slots) + kept.size)
        seen.slots.update(zip([words[i] for i in kept.tolist()], numbers, strict=True))
        seen.rows = pool[: firsts[kept[-1]] + sizes[kept[-1]]].copy() if kept.size < fresh.size else pool
        seen.firsts = np.concatenate([seen.firsts, firsts[kept]])
        seen.counts = np.concatenate([seen.counts, sizes[kept]])
    return pool, firsts, sizes


def subword_rows(model: Lid176, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each token's input rows in fastText's order (its word row when known, then its kept n-grams
    by start and length; `</s>` has its row only) laid end to end, and how many each token has."""
    known = np.array([model.words.get(token, -1) for token in tokens], np.int64)
    # `</s>` stands for itself: fastText gives it no n-grams.
    brackets = ["" if token == EOS else f"{BOW}{token}{EOW}" for token in tokens]
    encoded = [bracketed.encode("utf-8", "surrogatepass") for bracketed in brackets]
    data = np.frombuffer(b"".join(encoded), np.uint8)
    sizes = np.fromiter(map(len, encoded), np.int64, len(encoded))
    hashes, owner = _ngram_hashes(data, sizes, model.minn, model.maxn)
    mapped = model.buckets[hashes % np.uint32(model.buckets.size)]
    kept = mapped >= 0  # buckets pruned from the model count for nothing
    owner, grams_rows = owner[kept], mapped[kept].astype(np.int64)
    grams = np.bincount(owner, minlength=len(tokens))
    has_word = (known >= 0).astype(np.int64)
    counts = grams + has_word
    offsets = np.cumsum(counts) - counts
    flat = np.empty(int(counts.sum()), np.int64)
    flat[offsets[known >= 0]] = known[known >= 0]
    rank = np.arange(owner.size) - (np.cumsum(grams) - grams)[owner]
    flat[offsets[owner] + has_word[owner] + rank] = grams_rows
    return flat, counts


def _ngram_hashes(data: np.ndarray, sizes: np.ndarray, minn: int, maxn: int) -> tuple[np.ndarray, np.ndarray]:
    """fastText's hash of every n-gram (minn..maxn characters) of words laid end to end in `data`
    (`sizes` bytes each), in fastText's order (by first character, then length), and their word.
    The n-grams starting at one character share their first bytes: each start's hash is extended
    one character at a time and read off at every length, under half the steps of hashing each
    n-gram from its start."""
    char_starts = np.flatnonzero((data & 0xC0) != 0x80)
    word_of_char = np.searchsorted(np.cumsum(sizes), char_starts, side="right")
    # Words lie end to end, so a character ends where the next one starts (the last at the end).
    bounds = np.append(char_starts, data.size)
    chars = np.bincount(word_of_char, minlength=sizes.size)
    left = np.cumsum(chars)[word_of_char] - np.arange(char_starts.size)  # characters to its word's end
    signed = data.view(np.int8).astype(np.int32).view(np.uint32)  # fastText hashes signed chars
    hashes = np.full(char_starts.size, FNV_OFFSET, np.uint32)
    found = np.empty((char_starts.size, maxn - minn + 1), np.uint32)
    for n in range(1, maxn + 1):
        live = np.flatnonzero(left >= n)  # starts whose word has an n-th character
        first = bounds[live + n - 1]
        width = bounds[live + n] - first
        for k in range(int(width.max(initial=0))):
            more = np.flatnonzero(width > k)
            grown, at = live[more], first[more] + k
            hashes[grown] = (hashes[grown] ^ signed[at]) * FNV_PRIME
        if n >= minn:
            found[live, n - minn] = hashes[live]
    valid = np.arange(minn, maxn + 1)[None, :] <= left[:, None]  # row-major: fastText's order
    return found[valid], np.broadcast_to(word_of_char[:, None], valid.shape)[valid]


def _means(rows: np.ndarray, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per unit (`lengths` consecutive `ids` each) the mean of its rows, summed in input order in
    float32 as fastText does (`np.add.reduceat` adds in another order: other bits)."""
    order = np.argsort(-lengths, kind="stable")  # longest first: the units still adding are a prefix
    firsts = (np.cumsum(lengths) - lengths)[order]
    sums = np.zeros((lengths.size, rows.shape[1]), np.float32)
    live = np.searchsorted(-lengths[order], -np.arange(1, int(lengths.max(initial=0)) + 1), side="right")
    for k, count in enumerate(live.tolist()):
        sums[:count] += rows.take(ids[firsts[:count] + k], axis=0)
    means = np.empty_like(sums)
    means[order] = sums * (1.0 / lengths[order]).astype(np.float32)[:, None]
    return means


def _search(model: Lid176, hidden: np.ndarray) -> tuple[list[str], list[float]]:
    """fastText's top label (k = 1, threshold 0) and its probability for each hidden vector."""
    leaf, best = _best_leaves(model, hidden)
    probability = np.exp(best.astype(np.float64)).astype(np.float32)
    found = leaf >= 0
    names = np.asarray(model.labels, dtype=object)
    labels = np.where(found, names[np.maximum(leaf, 0)], "und").tolist()
    return labels, np.where(found, probability, 0.0).tolist()


def _best_leaves(model: Lid176, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fastText's depth-first search, for all units at once: a node is visited when its parent
    was and its log-probability is neither under FLOOR nor under the best leaf found so far; a
    visited leaf becomes the best (on a tie the later leaf, as fastText's heap keeps it). A unit
    visits about 7 of the 175 inner nodes, so each node works on its visitors only."""
    labels = len(model.labels)
    best = np.full(hidden.shape[0], -np.inf, np.float32)
    leaf = np.full(hidden.shape[0], -1, np.int64)
    visitors = {2 * labels - 2: (np.arange(hidden.shape[0]), np.zeros(hidden.shape[0], np.float32))}
    branches: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for node in model.order:
        parent = int(model.parent[node])
        units, score = visitors[parent]
        if parent not in branches:
            branches[parent] = _branch_logs(model.output[parent - labels], hidden.take(units, axis=0))
        score = score + branches[parent][int(model.right[node])]
        keep = (score >= FLOOR) & (score >= best[units])
        units, score = units[keep], score[keep]
        if node < labels:
            best[units] = score
            leaf[units] = node
        else:
            visitors[node] = (units, score)
    return leaf, best


def _branch_logs(weights: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The float32 log-probabilities of going left and right at one inner node, as fastText
    computes them: the dot product summed in order in float32, sigmoid and logs in double."""
    dots = np.zeros(hidden.shape[0], np.float32)
    for j in range(weights.size):
        dots += hidden[:, j] * weights[j]
    with np.errstate(over="ignore"):  # past float32: inf, so the sigmoid is 0, as with fastText
        exp = np.exp(-dots.astype(np.float64)).astype(np.float32)
    sigmoid = (1.0 / (exp + np.float32(1)).astype(np.float64)).astype(np.float32).astype(np.float64)
    right = np.log(sigmoid + 1e-5).astype(np.float32)
    left = np.log((1.0 - sigmoid).astype(np.float32).astype(np.float64) + 1e-5).astype(np.float32)
    return left, right
