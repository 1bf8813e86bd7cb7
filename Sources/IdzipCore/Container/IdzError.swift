/// Why an `.idz` file could not be read or written: a category to test against and one
/// clear line naming the problem.
public struct IdzError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The category of a problem. Readers of other implementations raise the same
    /// categories (Formats/idz-v1.md, "Errors").
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The first 8 bytes are not the `.idz` magic.
        case badMagic = "bad-magic"
        /// A format version this reader does not implement.
        case unsupportedVersion = "unsupported-version"
        /// Preamble flags this version does not define.
        case unsupportedFlags = "unsupported-flags"
        /// The file ends before the length its preamble declares.
        case truncated = "truncated"
        /// Bytes after the SHA-256 trailer.
        case trailingBytes = "trailing-bytes"
        /// The SHA-256 trailer does not match the file.
        case checksumMismatch = "checksum-mismatch"
        /// A declared size or count is above a limit of the format.
        case limitExceeded = "limit-exceeded"
        /// The zlib stream is damaged, or inflates to more or fewer bytes than declared.
        case badCompression = "bad-compression"
        /// A section's bytes do not parse: short, long, or a length past its end.
        case malformedSection = "malformed-section"
        /// A critical section this reader does not know.
        case unknownSection = "unknown-section"
        /// A section that may occur once occurs again.
        case duplicateSection = "duplicate-section"
        /// A required section is absent.
        case missingSection = "missing-section"
        /// An enumerated value (layer type, projection kind, init scheme, encoding,
        /// padding, metadata type) this version does not define.
        case unknownValue = "unknown-value"
        /// The architecture cannot be built.
        case invalidArchitecture = "invalid-architecture"
        /// The tensor table disagrees with the one derived from the architecture.
        case inconsistentShapes = "inconsistent-shapes"
        /// A field has a value its type allows but the format does not (d > D, NaN, ...).
        case invalidValue = "invalid-value"
        /// Two metadata entries with the same key.
        case duplicateMetadataKey = "duplicate-metadata-key"
        /// A string that is not valid UTF-8.
        case invalidUTF8 = "invalid-utf8"
        /// The operating system could not read or write the file.
        case io = "io"
    }

    /// The category.
    public var kind: Kind
    /// One line naming the problem.
    public var message: String

    /// An error of `kind` described by `message` (one line).
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The one-line message.
    public var description: String { message }
}

extension IdzError {
    /// A string from a file, quoted for an error message: control characters escaped and
    /// cut to 64 characters, so a message stays one readable line.
    static func quote(_ text: String) -> String {
        let escaped = text.debugDescription
        guard escaped.count > 66 else { return escaped }
        return String(escaped.prefix(64)) + "...\""
    }
}
