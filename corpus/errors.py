"""The one error family of corpus: the library raises these, only the CLI prints them (through
`redact`, so that no message shows a credential a server or library put into it)."""

from __future__ import annotations

import re


class CorpusError(Exception):
    """Base of every expected failure; `exit_code` is what the CLI returns for it."""

    exit_code = 1


class ConfigError(CorpusError):
    """The configuration is wrong: a usage problem, exit code 2."""

    exit_code = 2


class SourceError(CorpusError):
    """An input file cannot be read as configured; the message names the file, line or key."""


class LedgerError(CorpusError):
    """Rows read do not equal rows released plus rows removed: the build must not publish."""


class ReleaseError(CorpusError):
    """The release cannot be written or would overwrite a different release."""


# What a server or library may echo into an error: an Authorization or Cookie header (in any
# dump format), a bearer token, a hub token (`hf_` + letters and digits) or a token in a URL.
_SECRETS = [
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization|x-api-key)(['\"]?\s*[:=]\s*['\"]?)(?!\s|\[redacted)[^'\"\n,;})]+"
        ),
        r"\1\2[redacted]",
    ),
    (
        re.compile(r"(?i)\b((?:set-)?cookie)(['\"]?\s*[:=]\s*['\"]?)(?!\s|\[redacted)[^'\"\n)]+"),
        r"\1\2[redacted]",
    ),
    (re.compile(r"(?i)\bbearer\s+[^\s'\",;})]+"), "Bearer [redacted]"),
    (re.compile(r"\bhf_(?:oauth_)?[A-Za-z0-9]{8,}"), "hf_[redacted]"),
    (re.compile(r"(?i)([?&](?:token|access_token|api_key)=)[^&\s'\"]+"), r"\1[redacted]"),
]


def redact(message: str) -> str:
    """`message` without credentials: the CLI passes every error through this before printing."""
    for pattern, replacement in _SECRETS:
        message = pattern.sub(replacement, message)
    return message
