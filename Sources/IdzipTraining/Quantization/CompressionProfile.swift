import IdzipCore

/// A container profile a compression search writes each candidate in.
public struct CompressionProfile: Sendable, Hashable {
    /// "standard" (format v1, every field of Formats/idz-v1.md).
    public var name: String

    public static let standard = CompressionProfile(name: "standard")
    public static let all: [CompressionProfile] = [.standard]
}
