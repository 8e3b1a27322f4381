"""Canonical URLs: one spelling per page, so re-scrapes of one URL are recognised.

Written with urllib rather than url-normalize because we also drop tracking parameters and keep
Arabic slugs readable (decoded), which that library leaves percent-encoded. Applied once per
distinct URL, not per row.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlencode, urlsplit, urlunsplit

import polars as pl

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_")
TRACKING_NAMES = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "_ga", "_gl", "ref_src", "xtor"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}
# ASCII characters a path may not hold literally; everything else, Arabic included, stays readable.
PATH_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}#?%]")
# A run of percent escapes, or a run of literal characters (a lone "%" is a literal).
PATH_TOKENS = re.compile(r"((?:%[0-9A-Fa-f]{2})+)|([^%]+|%)")
# RFC 3986 unreserved ASCII: an escape of these means the character itself.
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def canonical_url(url: str) -> str | None:
    """Lowercase scheme and host, no default port, no fragment, no tracking, sorted query; None
    when the text is no http(s) URL (urllib refuses some, e.g. an unbalanced "[" in the host)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = normalise_path(parts.path) or "/"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith(TRACKING_PREFIXES) and key.lower() not in TRACKING_NAMES
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query), safe=":/,"), ""))


def normalise_path(path: str) -> str:
    """Decode escapes of unreserved ASCII and of non-ASCII text (Arabic slugs become readable);
    keep escapes of reserved characters ("%2F" is not "/"), in upper-case hex; escape unsafe literals."""
    out = []
    for escapes, literal in PATH_TOKENS.findall(path):
        if literal:
            out.append(PATH_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), literal))
            continue
        try:
            text = unquote_to_bytes(escapes).decode("utf-8")
        except UnicodeDecodeError:
            out.append(escapes.upper())
            continue
        out.append("".join(c if c in UNRESERVED or ord(c) > 0x7F else quote(c, safe="") for c in text))
    return "".join(out)


# A URL `canonical_url` returns unchanged: lower-case http(s), a lower-case host not ending in a
# dot, no user, port, query or fragment, and a path of unreserved ASCII, slashes and non-ASCII
# characters other than white space (an Arabic or accented slug stays as it is).
CANONICAL = r"^https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/(?:[A-Za-z0-9._~/-]|[^\x00-\x7F\s])*$"


def canonical_urls(urls: pl.Series) -> pl.Series:
    """`canonical_url` over a column, computed once per distinct value, and not at all for a URL
    already canonical (all 100,000 make_corpus URLs: 1.85 s down to 0.41 s)."""
    distinct = urls.drop_nulls().unique()
    plain = distinct.str.contains(CANONICAL)
    mapping = {url: canonical_url(url) for url in distinct.filter(~plain).to_list()}
    mapping.update((url, url) for url in distinct.filter(plain).to_list())
    return urls.replace_strict(mapping, default=None, return_dtype=pl.String)
