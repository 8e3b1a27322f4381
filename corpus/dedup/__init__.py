"""Remove duplicates in three phases, each recording who survived and why the others went.

1. `rescrape`: the same canonical URL (and record key) scraped more than once; the newest
   scrape wins by default. 2. `exact_duplicate`: identical text after normalisation.
3. `near_duplicate`: MinHash LSH over word n-grams of the normalised text, verified pairs,
   connected components; one survivor per component by a fixed priority, whatever the input order.
Against an earlier release (`dedup.against`) its stored signatures take part without its text.
"""

from corpus.dedup.normalise import matching_text
from corpus.dedup.signatures import shingle_hash, shingles, signatures
from corpus.dedup.steps import remove_exact, remove_near, remove_rescrapes
from corpus.dedup.store import Earlier, load_earlier, write_signatures

__all__ = [
    "Earlier",
    "load_earlier",
    "matching_text",
    "remove_exact",
    "remove_near",
    "remove_rescrapes",
    "shingle_hash",
    "shingles",
    "signatures",
    "write_signatures",
]
