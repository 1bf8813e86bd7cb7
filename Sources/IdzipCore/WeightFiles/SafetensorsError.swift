/// Why a safetensors file could not be read or written: a category to test against and one
/// clear line naming the problem (as `IdzError` is for `.idz` files).
public struct SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The category of a problem. `Tests/IdzipCoreTests/Fixtures/hostile-safetensors/MANIFEST`
    /// lists a file for each reader category.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The file ends inside its 8-byte header length or inside the JSON header.
        case truncated = "truncated"
        /// The header length is above `SafetensorsFile.maxHeaderLength` (100 MB).
        case headerTooLarge = "header-too-large"
        /// The header is not UTF-8 JSON of the safetensors shape: an object whose values
        /// are tensor entries or the `__metadata__` object of strings.
        case invalidHeader = "invalid-header"
        /// Two tensors (or two metadata keys) with the same name.
        case duplicateName = "duplicate-name"
        /// A dtype the safetensors format does not define.
        case unknownDtype = "unknown-dtype"
        /// A shape with a negative, non-integer or too large dimension (over 2^36 elements).
        case invalidShape = "invalid-shape"
        /// A tensor's byte count differs from its shape times its dtype's size.
        case sizeMismatch = "size-mismatch"
        /// data_offsets not two integers 0 <= begin <= end <= the data buffer's length.
        case offsetsOutOfBounds = "offsets-out-of-bounds"
        /// The tensors do not tile the data buffer: a gap, an overlap, or bytes after the
        /// last tensor.
        case notTiled = "not-tiled"
        /// The file is valid but lacks a tensor the caller asked for.
        case missingTensor = "missing-tensor"
        /// A tensor has another dtype or shape than the caller needs.
        case wrongTensor = "wrong-tensor"
        /// The operating system could not read the file.
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
