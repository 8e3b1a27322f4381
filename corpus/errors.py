"""The one error family of corpus: the library raises these, only the CLI prints them."""

from __future__ import annotations


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
