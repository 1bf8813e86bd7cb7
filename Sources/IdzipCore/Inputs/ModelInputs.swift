import Foundation

/// Turns input files (PNG and PGM images, NPY arrays) into raw examples of a model's input
/// shape, for `Predictor.classify(raw:)`: the values stay raw (pixels 0 ... 255, array
/// elements as stored), the model's preprocessing is applied later, once, by the predictor,
/// as `idzip eval` does.
///
/// - Images fit a model whose input is [C, H, W] (C = 1 or 3), or [F] with F = s x s (one
///   gray s x s image) or F = 3 x s x s (RGB). A color image given to a gray model is
///   converted with the BT.601 luma weights (`InputImage`), a gray image given to an RGB
///   model is copied to the three channels. An image of another width or height is
///   refused, or resized by area resampling (`AreaResize`) when `resize` is set.
/// - An NPY array fits when its shape is the input shape, the input shape without leading
///   ones ([28, 28] for [1, 28, 28]) or [F], optionally after one leading batch dimension N:
///   [784], [N, 784], [1, 28, 28], [N, 28, 28], [N, 1, 28, 28] for LeNet's [1, 28, 28]. Arrays
///   are never resized.
public struct ModelInputs: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case png, pgm, npy }

    /// The raw examples one input holds: `count` rows of the model's input count.
    public struct Examples: Sendable {
        public var kind: Kind
        public var count: Int
        /// The shape as given (an image: [channels, height, width] as decoded).
        public var shape: [Int]
        public var raw: [Float]
    }

    public let inputShape: [Int]
    public var resize: Bool

    public init(inputShape: [Int], resize: Bool = false) {
        self.inputShape = inputShape
        self.resize = resize
    }

    /// The kind of a file from its first bytes, or nil.
    public static func kind(of bytes: [UInt8]) -> Kind? {
        if bytes.starts(with: PNGDecoder.magic) { return .png }
        if bytes.starts(with: NPYInput.magic) { return .npy }
        if PGMDecoder.hasMagic(bytes) { return .pgm }
        return nil
    }

    /// Floats that `examples(from:name:)` will hold for `bytes`, known before decoding: an
    /// NPY array's declared element count (from its header), an image's example (the
    /// model's input; its decoder refuses images over `InputLimits` before allocating).
    /// nil for a file that `examples(from:name:)` refuses from its header alone (an NPY
    /// header that does not parse or exceeds the limits; an unknown format): decoding it
    /// says why without allocating.
    public func decodedFloats(of bytes: [UInt8]) -> Int? {
        switch Self.kind(of: bytes) {
        case .npy: return NPYInput.declaredElementCount(bytes)
        case .png, .pgm: return inputShape.reduce(1) { MemoryBudget.product([$0, $1]) }
        case nil: return nil
        }
    }

    /// The examples in `bytes`, a whole file named `name` in messages.
    /// - Throws: `InputError` for a file that is malformed, too large or does not fit the model.
    public func examples(from bytes: [UInt8], name: String) throws(InputError) -> Examples {
        guard let kind = Self.kind(of: bytes) else { throw .unknownFormat(name: name) }
        switch kind {
        case .png: return try examples(of: PNGDecoder.decode(bytes, name: name), kind: kind, name: name)
        case .pgm: return try examples(of: PGMDecoder.decode(bytes, name: name), kind: kind, name: name)
        case .npy: return try examples(of: NPYInput.decode(bytes, name: name), name: name)
        }
    }

    /// The image geometry (channels, height, width) of the model's input, or nil.
    public var imageShape: (channels: Int, height: Int, width: Int)? {
        switch inputShape.count {
        case 3 where inputShape[0] == 1 || inputShape[0] == 3:
            return (inputShape[0], inputShape[1], inputShape[2])
        case 2:
            return (1, inputShape[0], inputShape[1])
        case 1:
            let features = inputShape[0]
            for channels in [1, 3] where features % channels == 0 {
                let side = Int(Double(features / channels).squareRoot().rounded())
                if side > 0 && side * side * channels == features { return (channels, side, side) }
            }
            return nil
        default:
            return nil
        }
    }

    private var inputDescription: String { "[" + inputShape.map(String.init).joined(separator: ", ") + "]" }

    private func examples(of image: InputImage, kind: Kind, name: String) throws(InputError) -> Examples {
        let shape = [image.channels, image.height, image.width]
        guard let target = imageShape else {
            throw .shapeMismatch(name: name, reason: "the model's input \(inputDescription) is not an image; give a .npy array")
        }
        let colors = image.channels == 1 ? "gray" : "RGB"
        if (image.height, image.width) != (target.height, target.width) && !resize {
            throw .shapeMismatch(
                name: name,
                reason: "a \(image.width) x \(image.height) \(colors) image does not fit the model's input \(inputDescription) (\(target.width) x \(target.height)); give --resize to resize it")
        }
        let planes = image.planes(channels: target.channels)
        let raw = AreaResize.resize(
            planes, channels: target.channels, height: image.height, width: image.width,
            targetHeight: target.height, targetWidth: target.width)
        return Examples(kind: kind, count: 1, shape: shape, raw: raw)
    }

    private func examples(of array: NPYInput, name: String) throws(InputError) -> Examples {
        let features = inputShape.reduce(1, *)
        let trimmed = Array(inputShape.drop { $0 == 1 })
        let singles = [inputShape, trimmed, [features]]
        var count: Int?
        if singles.contains(array.shape) {
            count = 1
        } else if let first = array.shape.first, singles.contains(Array(array.shape.dropFirst())) {
            count = first
        }
        let shapeText = "[" + array.shape.map(String.init).joined(separator: ", ") + "]"
        guard let count else {
            let accepted = Set(singles.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" })
            throw .shapeMismatch(
                name: name,
                reason: "an array of shape \(shapeText) does not fit the model's input \(inputDescription) (give \(accepted.sorted().joined(separator: " or ")), optionally after a batch dimension)")
        }
        guard count > 0 else { throw .shapeMismatch(name: name, reason: "an array of shape \(shapeText) holds no examples") }
        return Examples(kind: .npy, count: count, shape: array.shape, raw: array.values)
    }

    // MARK: Reading files

    /// The bytes of the file at `path`, at most `InputLimits.maxFileBytes`.
    public static func read(path: String) throws(InputError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .unreadable(name: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(name: path, reason: String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT != S_IFDIR else { throw .unreadable(name: path, reason: "it is a directory") }
        return try read(descriptor: descriptor, name: path)
    }

    /// All bytes of standard input, at most `InputLimits.maxFileBytes`.
    public static func readStandardInput(name: String = "-") throws(InputError) -> [UInt8] {
        try read(descriptor: STDIN_FILENO, name: name)
    }

    private static func read(descriptor: Int32, name: String) throws(InputError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .unreadable(name: name, reason: String(cString: strerror(errno)))
            }
            if got == 0 { return bytes }
            guard bytes.count + got <= InputLimits.maxFileBytes else {
                throw .tooLarge(name: name, reason: "it holds more than \(InputLimits.maxFileBytes) bytes")
            }
            bytes.append(contentsOf: chunk[0..<got])
        }
    }
}
