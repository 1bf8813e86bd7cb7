"""Typed errors of the `.idz` reader and expander.

Every error is an :class:`IdzError` with a ``kind`` string equal to the kind idzip's Swift
reader raises (``IdzError.Kind`` raw values, Formats/idz-v1.md section 15), e.g.
``"bad-magic"`` or ``"limit-exceeded"``, and one class per kind, so callers can either
``except idzip.LimitExceeded`` or compare ``error.kind``.
"""

__all__ = [
    "IdzError", "BadMagic", "Truncated", "UnsupportedVersion", "UnsupportedFlags",
    "TrailingBytes", "ChecksumMismatch", "LimitExceeded", "BadCompression",
    "MalformedSection", "UnknownSection", "DuplicateSection", "MissingSection",
    "UnknownValue", "InvalidArchitecture", "InconsistentShapes", "InvalidValue",
    "DuplicateMetadataKey", "InvalidUTF8", "WeightsChecksumMismatch", "IdzIOError",
    "ERROR_KINDS", "error_class",
]


class IdzError(Exception):
    """A file that cannot be read, or weights that cannot be expanded.

    Attributes:
        kind: the error kind of Formats/idz-v1.md section 15 as idzip spells it
            (``"truncated"``, ``"invalid-value"``, ...).
        message: one line naming the field and the values.
    """

    kind = "idz-error"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


def _kind(name, kind, doc, base=IdzError):
    cls = type(name, (base,), {"kind": kind, "__doc__": doc, "__module__": __name__})
    return cls


BadMagic = _kind("BadMagic", "bad-magic", "The first bytes are not the `.idz` magic.")
Truncated = _kind("Truncated", "truncated", "Shorter than 32 bytes or than the 32 + C + 32 the preamble declares.")
UnsupportedVersion = _kind("UnsupportedVersion", "unsupported-version", "A format version other than 1.")
UnsupportedFlags = _kind("UnsupportedFlags", "unsupported-flags", "Preamble flags other than 0.")
TrailingBytes = _kind("TrailingBytes", "trailing-bytes", "Bytes after the SHA-256 trailer.")
ChecksumMismatch = _kind("ChecksumMismatch", "checksum-mismatch", "The SHA-256 trailer is not the digest of the file.")
LimitExceeded = _kind("LimitExceeded", "limit-exceeded", "A declared size or count is above a limit of section 5.")
BadCompression = _kind("BadCompression", "bad-compression", "The zlib payload is damaged or inflates to other than its declared length.")
MalformedSection = _kind("MalformedSection", "malformed-section", "A section header or field runs past its end, bytes remain, or a count needs more bytes than remain.")
UnknownSection = _kind("UnknownSection", "unknown-section", "A critical section with an unknown tag.")
DuplicateSection = _kind("DuplicateSection", "duplicate-section", "A known section occurs twice.")
MissingSection = _kind("MissingSection", "missing-section", "A required section is absent.")
UnknownValue = _kind("UnknownValue", "unknown-value", "An undefined layer type, padding, init scheme, projection kind, encoding or metadata type.")
InvalidArchitecture = _kind("InvalidArchitecture", "invalid-architecture", "A rule of section 6 (architecture) fails.")
InconsistentShapes = _kind("InconsistentShapes", "inconsistent-shapes", "The tensor table differs from the architecture's tensors.")
InvalidValue = _kind("InvalidValue", "invalid-value", "A value the type allows but the format does not (d = 0, NaN, bad preprocessing, ...).")
DuplicateMetadataKey = _kind("DuplicateMetadataKey", "duplicate-metadata-key", "Two metadata entries with the same key.")
InvalidUTF8 = _kind("InvalidUTF8", "invalid-utf8", "A string that is not valid UTF-8.")
WeightsChecksumMismatch = _kind(
    "WeightsChecksumMismatch", "weights-checksum-mismatch",
    "The expanded weights do not match the weights SHA-256 section (section 11; idzip's "
    "ExpansionError.checksumMismatch). A subclass of ChecksumMismatch, so `except ChecksumMismatch` "
    "catches both; `expected` and `actual` hold the two digests in hexadecimal.",
    base=ChecksumMismatch)
IdzIOError = _kind("IdzIOError", "io", "The operating system could not read the file.")

#: kind string -> class, for the kinds a reader raises (section 15).
ERROR_KINDS = {cls.kind: cls for cls in (
    BadMagic, Truncated, UnsupportedVersion, UnsupportedFlags, TrailingBytes, ChecksumMismatch,
    LimitExceeded, BadCompression, MalformedSection, UnknownSection, DuplicateSection,
    MissingSection, UnknownValue, InvalidArchitecture, InconsistentShapes, InvalidValue,
    DuplicateMetadataKey, InvalidUTF8, WeightsChecksumMismatch, IdzIOError)}


def error_class(kind):
    """The IdzError subclass for a kind string such as ``"truncated"``."""
    return ERROR_KINDS[kind]
