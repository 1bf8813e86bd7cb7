/// Why an input to a model (an image or an array) cannot be used. Each description is one line.
public enum InputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The bytes are not a valid file of their kind (`kind`: PNG, PGM or NPY); the reason says why.
    case malformed(name: String, kind: String, reason: String)
    /// The bytes start with no magic number idzip reads.
    case unknownFormat(name: String)
    /// A declared or decoded size exceeds `InputLimits`.
    case tooLarge(name: String, reason: String)
    /// A valid input whose shape does not fit the model's input.
    case shapeMismatch(name: String, reason: String)
    /// The file cannot be read.
    case unreadable(name: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let name, let kind, let reason): "\(name) is not a valid \(kind) file: \(reason)"
        case .unknownFormat(let name): "\(name) is not a PNG, PGM (P2/P5) or NPY file (no known magic number)"
        case .tooLarge(let name, let reason): "\(name) is too large: \(reason)"
        case .shapeMismatch(let name, let reason): "\(name): \(reason)"
        case .unreadable(let name, let reason): "cannot read \(name): \(reason)"
        }
    }
}

/// Size limits of model inputs, checked before anything is allocated.
public enum InputLimits {
    /// Bytes of one input file (or of standard input): 256 MiB.
    public static let maxFileBytes = 1 << 28
    /// Width or height of an image, in pixels.
    public static let maxImageSide = 1 << 15
    /// Decoded bytes of one image (width x height x channels): 64 MiB.
    public static let maxImageBytes = 1 << 26
    /// Elements of one NPY array (its float32 copy is 4 bytes each): 64 Mi.
    public static let maxArrayElements = 1 << 26
}
