/// How theta_d is stored in a `.idz` file. Raw values are part of the format.
public enum ThetaEncoding: UInt8, Sendable, Hashable, CaseIterable {
    /// IEEE-754 binary32, little-endian.
    case float32 = 1
    /// IEEE-754 binary16, little-endian; decoded exactly to float32.
    case float16 = 2
    /// Signed 8-bit integers q with one float32 scale: value = Float(q) * scale.
    case int8 = 3
    /// A codebook of K float32 levels (1...4096) and one symbol per value, range coded:
    /// value = levels[symbol] (Formats/idz-v2.md). Needs format version 2.
    case codebook = 4

    /// The name the command line uses: "float32", "float16", "int8" or "codebook".
    public var name: String {
        switch self {
        case .float32: "float32"
        case .float16: "float16"
        case .int8: "int8"
        case .codebook: "codebook"
        }
    }

    /// The encoding called `name`, if any.
    public init?(name: String) {
        guard let encoding = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = encoding
    }
}
