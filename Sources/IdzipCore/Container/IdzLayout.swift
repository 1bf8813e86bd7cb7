/// Fixed sizes and constants of the `.idz` byte layout (Formats/idz-v1.md).
enum IdzLayout {
    /// "\x89IDZ\r\n\x1a\n": the high byte catches 7-bit transports, CR LF and the lone LF
    /// catch newline translation, 0x1A stops `type` on DOS.
    static let magic: [UInt8] = [0x89, 0x49, 0x44, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A]
    /// magic (8), version u32, flags u32, compressed length u64, uncompressed length u64.
    static let preambleSize = 32
    /// SHA-256 of every byte before it.
    static let trailerSize = 32
    /// Section header: u16 tag, u32 length.
    static let sectionHeaderSize = 6
    static let sha256Size = 32
    static let compressionLevel: Int32 = 9
}

/// The tag of a payload section. Tags with the high bit set are ancillary: a reader skips
/// ancillary sections it does not know, and rejects critical ones it does not know.
enum SectionTag: UInt16, CaseIterable {
    case architecture = 0x0001
    case tensorTable = 0x0002
    case theta0 = 0x0003
    case projection = 0x0004
    case thetaD = 0x0005
    case preprocessing = 0x0006
    case weightsSHA256 = 0x0007
    /// Version 3: batch-norm running statistics (Formats/idz-v3.md section 5).
    case buffers = 0x0008
    /// Version 3: the sources and names of the layers (Formats/idz-v3.md section 4).
    case layerGraph = 0x0009
    /// Version 3: the base theta0 comes from (Formats/idz-v3.md section 6).
    case base = 0x000A
    /// Version 3: per-tensor modes, scales and direct values (Formats/idz-v3.md section 7).
    case tensorModes = 0x000B
    case labels = 0x8001
    case metadata = 0x8002

    static let ancillaryBit: UInt16 = 0x8000

    static func isAncillary(_ tag: UInt16) -> Bool { tag & ancillaryBit != 0 }

    /// The format version a section needs (an older file with it has an unknown section).
    var version: UInt32 {
        switch self {
        case .buffers, .layerGraph, .base, .tensorModes: 3
        default: 1
        }
    }

    /// Absent optional sections mean "empty". The version 3 sections are critical but
    /// optional: a model without buffers, a graph, a base or modes omits them.
    var isRequired: Bool { !Self.isAncillary(rawValue) && version == 1 }

    var name: String {
        switch self {
        case .architecture: "architecture"
        case .tensorTable: "tensor table"
        case .theta0: "theta0"
        case .projection: "projection"
        case .thetaD: "theta_d"
        case .preprocessing: "preprocessing"
        case .weightsSHA256: "weights SHA-256"
        case .buffers: "buffers"
        case .layerGraph: "layer graph"
        case .base: "base"
        case .tensorModes: "tensor modes"
        case .labels: "labels"
        case .metadata: "metadata"
        }
    }

    static func hex(_ tag: UInt16) -> String {
        let digits = String(tag, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// The code of each layer type in the architecture section.
enum LayerCode: UInt8 {
    case dense = 1
    case conv2d = 2
    case maxPool = 3
    case relu = 4
    case flatten = 5
    case toyGroupSum = 6

    /// The code of a version 1 layer; nil for a version 3 layer type, which
    /// `IdzModelCheck.checkEncodable` refuses before any encoder meets it.
    init?(_ layer: Layer) {
        switch layer {
        case .dense: self = .dense
        case .conv2d: self = .conv2d
        case .maxPool: self = .maxPool
        case .relu: self = .relu
        case .flatten: self = .flatten
        case .toyGroupSum: self = .toyGroupSum
        case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation: return nil
        }
    }
}

/// The code of each metadata value type.
enum MetadataTypeCode: UInt8 {
    case int = 1
    case double = 2
    case string = 3
    case bool = 4
    case bytes = 5
}
