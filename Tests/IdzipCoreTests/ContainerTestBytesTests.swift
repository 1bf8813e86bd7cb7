import Foundation
import IdzipCore
import Testing

// An independent writer of `.idz` bytes, written from Formats/idz-v1.md rather than from
// the library, so that tests can build files the library would never write: hostile
// sections re-sealed with a correct trailer, so that they reach the deeper checks.

/// Little-endian fields.
struct TestBytes {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { append(value) }
    mutating func u32(_ value: UInt32) { append(value) }
    mutating func u64(_ value: UInt64) { append(value) }
    mutating func f32(_ value: Float) { append(value.bitPattern) }
    mutating func f64(_ value: Double) { append(value.bitPattern) }
    mutating func raw(_ data: [UInt8]) { bytes += data }
    /// u32 length + bytes.
    mutating func blob(_ data: [UInt8]) { u32(UInt32(data.count)); raw(data) }
    mutating func string(_ text: String) { blob(Array(text.utf8)) }
    /// theta_d values as byte planes (section 4.5): byte 0 of every value, then byte 1 of
    /// every value, ..., each value's bytes numbered in little-endian order.
    mutating func planes<T: FixedWidthInteger>(_ values: [T]) {
        for plane in 0..<MemoryLayout<T>.size {
            for value in values { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * plane))) }
        }
    }
    mutating func planes(_ values: [Float]) { planes(values.map(\.bitPattern)) }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    static func build(_ body: (inout TestBytes) -> Void) -> [UInt8] {
        var writer = TestBytes()
        body(&writer)
        return writer.bytes
    }
}

/// Section tags of version 1.
enum Tag {
    static let architecture: UInt16 = 0x0001
    static let tensorTable: UInt16 = 0x0002
    static let theta0: UInt16 = 0x0003
    static let projection: UInt16 = 0x0004
    static let thetaD: UInt16 = 0x0005
    static let preprocessing: UInt16 = 0x0006
    static let weightsSHA256: UInt16 = 0x0007
    static let labels: UInt16 = 0x8001
    static let metadata: UInt16 = 0x8002
}

/// An uncompressed payload as a list of sections.
struct TestPayload {
    var sections: [(tag: UInt16, body: [UInt8])]

    var bytes: [UInt8] {
        TestBytes.build { writer in
            for section in sections {
                writer.u16(section.tag)
                writer.u32(UInt32(section.body.count))
                writer.raw(section.body)
            }
        }
    }

    func body(_ tag: UInt16) -> [UInt8] { sections.first { $0.tag == tag }!.body }

    func replacing(_ tag: UInt16, with body: [UInt8]) -> TestPayload {
        var copy = self
        copy.sections = sections.map { $0.tag == tag ? (tag, body) : $0 }
        return copy
    }

    func removing(_ tag: UInt16) -> TestPayload {
        var copy = self
        copy.sections.removeAll { $0.tag == tag }
        return copy
    }

    func appending(_ tag: UInt16, _ body: [UInt8]) -> TestPayload {
        var copy = self
        copy.sections.append((tag, body))
        return copy
    }

    /// The sections a version 1 writer produces for `model`.
    static func standard(for model: IdzModel) throws -> TestPayload {
        let tensors = try model.architecture.parameterTensors()
        var sections: [(UInt16, [UInt8])] = [
            (Tag.architecture, architecture(model.architecture)),
            (Tag.tensorTable, TestBytes.build { writer in
                writer.u32(UInt32(tensors.count))
                for tensor in tensors {
                    writer.string(tensor.name)
                    writer.u8(UInt8(tensor.shape.count))
                    for dimension in tensor.shape { writer.u64(UInt64(dimension)) }
                    writer.u8(tensor.initScheme.rawValue)
                }
            }),
            (Tag.theta0, TestBytes.build { $0.u64(model.theta0Seed) }),
            (Tag.projection, projection(kind: model.projection.kind.rawValue, seed: model.projection.seed, d: UInt64(model.projection.dimension))),
            (Tag.thetaD, TestBytes.build { writer in
                writer.u8(model.theta.encoding.rawValue)
                writer.u64(UInt64(model.theta.count))
                switch model.theta {
                case .float32(let values): writer.planes(values)
                case .float16(let values): writer.planes(values)
                case .int8(let values, let scale):
                    writer.f32(scale)
                    values.forEach { writer.u8(UInt8(bitPattern: $0)) }
                case .codebook(let levels, let symbols):
                    // Formats/idz-v2.md section 4: varint K, level format, levels, coded symbols.
                    var k = UInt64(levels.count)
                    while k >= 0x80 { writer.u8(UInt8(k & 0x7F) | 0x80); k >>= 7 }
                    writer.u8(UInt8(k))
                    let half = levels.allSatisfy { HalfFloat.float(fromBits: HalfFloat.bits(from: $0)).bitPattern == $0.bitPattern }
                    writer.u8(half ? 1 : 0)
                    for level in levels {
                        if half { writer.u16(HalfFloat.bits(from: level)) } else { writer.f32(level) }
                    }
                    RangeCoder.encode(symbols, alphabetSize: levels.count).forEach { writer.u8($0) }
                }
            }),
            (Tag.preprocessing, TestBytes.build { writer in
                writer.f32(model.preprocessing.inputScale)
                writer.u32(UInt32(model.preprocessing.mean.count))
                model.preprocessing.mean.forEach { writer.f32($0) }
                model.preprocessing.standardDeviation.forEach { writer.f32($0) }
            }),
            (Tag.weightsSHA256, model.weightsSHA256),
        ]
        if !model.labels.isEmpty {
            sections.append((Tag.labels, TestBytes.build { writer in
                writer.u32(UInt32(model.labels.count))
                model.labels.forEach { writer.string($0) }
            }))
        }
        if !model.metadata.isEmpty {
            sections.append((Tag.metadata, TestBytes.build { writer in
                writer.u32(UInt32(model.metadata.count))
                for entry in model.metadata {
                    writer.string(entry.key)
                    switch entry.value {
                    case .int(let value): writer.u8(1); writer.u64(UInt64(bitPattern: value))
                    case .double(let value): writer.u8(2); writer.f64(value)
                    case .string(let value): writer.u8(3); writer.string(value)
                    case .bool(let value): writer.u8(4); writer.u8(value ? 1 : 0)
                    case .bytes(let value): writer.u8(5); writer.blob(value)
                    }
                }
            }))
        }
        return TestPayload(sections: sections)
    }

    static func architecture(_ architecture: Architecture) -> [UInt8] {
        architectureBody(inputShape: architecture.inputShape.map(UInt64.init), layers: architecture.layers.map(layer))
    }

    /// An architecture section from raw fields.
    static func architectureBody(inputShape: [UInt64], layers: [[UInt8]], layerCount: UInt32? = nil) -> [UInt8] {
        TestBytes.build { writer in
            writer.u8(UInt8(inputShape.count))
            inputShape.forEach { writer.u64($0) }
            writer.u32(layerCount ?? UInt32(layers.count))
            layers.forEach { writer.raw($0) }
        }
    }

    static func layer(_ layer: Layer) -> [UInt8] {
        TestBytes.build { writer in
            switch layer {
            case .dense(let units): writer.u8(1); writer.u64(UInt64(units))
            case .conv2d(let filters, let kernel, let padding):
                writer.u8(2); writer.u64(UInt64(filters)); writer.u64(UInt64(kernel)); writer.u8(padding.rawValue)
            case .maxPool(let size): writer.u8(3); writer.u64(UInt64(size))
            case .relu: writer.u8(4)
            case .flatten: writer.u8(5)
            case .toyGroupSum(let groups, let size): writer.u8(6); writer.u64(UInt64(groups)); writer.u64(UInt64(size))
            case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                preconditionFailure("version 1 test bytes hold version 1 layers only")
            }
        }
    }

    static func projection(kind: UInt8, seed: UInt64, d: UInt64) -> [UInt8] {
        TestBytes.build { $0.u8(kind); $0.u64(seed); $0.u64(d) }
    }
}

/// zlib streams built by hand: stored blocks (no compression), and a real bomb.
enum TestZlib {
    /// A zlib stream of stored deflate blocks.
    static func stored(_ data: [UInt8]) -> [UInt8] {
        var output: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let end = min(start + 65535, data.count)
            let length = UInt16(end - start)
            output.append(end == data.count ? 1 : 0)  // BFINAL, BTYPE = 00, then byte-aligned
            output += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            output += data[start..<end]
            start = end
        } while start < data.count
        return output + bigEndian(adler32(data))
    }

    /// One fixed-Huffman block: a literal zero, then `matches` copies of 258 bytes at
    /// distance 1 (13 bits each): 1 + 258 * matches zero bytes from about matches * 1.6 bytes.
    static func bomb(matches: Int) -> (stream: [UInt8], inflatedLength: Int) {
        var bits = BitWriter()
        bits.write(1, count: 1)  // BFINAL
        bits.write(1, count: 2)  // BTYPE = 01, fixed Huffman
        bits.writeCode(0x30, length: 8)  // literal 0
        for _ in 0..<matches {
            bits.writeCode(0xC5, length: 8)  // length symbol 285 = 258
            bits.writeCode(0, length: 5)  // distance symbol 0 = 1
        }
        bits.writeCode(0, length: 7)  // end of block (256)
        let length = 1 + 258 * matches
        let adler = adler32([UInt8](repeating: 0, count: length))
        return ([0x78, 0x01] + bits.bytes + bigEndian(adler), length)
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private struct BitWriter {
        var bytes: [UInt8] = []
        var used = 8

        /// Data bits, least significant first.
        mutating func write(_ value: UInt32, count: Int) {
            for index in 0..<count {
                if used == 8 { bytes.append(0); used = 0 }
                bytes[bytes.count - 1] |= UInt8((value >> index) & 1) << used
                used += 1
            }
        }

        /// Huffman codes go most significant bit first.
        mutating func writeCode(_ code: UInt32, length: Int) {
            for index in stride(from: length - 1, through: 0, by: -1) { write((code >> index) & 1, count: 1) }
        }
    }
}

/// Whole files: preamble, compressed payload, SHA-256 trailer.
enum TestFile {
    static let magic: [UInt8] = [0x89, 0x49, 0x44, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A]

    static func seal(
        compressed: [UInt8], uncompressedLength: UInt64, version: UInt32 = 1, flags: UInt32 = 0,
        declaredCompressedLength: UInt64? = nil
    ) -> [UInt8] {
        let body = TestBytes.build { writer in
            writer.raw(magic)
            writer.u32(version)
            writer.u32(flags)
            writer.u64(declaredCompressedLength ?? UInt64(compressed.count))
            writer.u64(uncompressedLength)
            writer.raw(compressed)
        }
        return body + IdzChecksum.sha256(body)
    }

    /// A file whose payload is `payload`, stored uncompressed inside zlib.
    static func seal(_ payload: [UInt8]) -> [UInt8] {
        seal(compressed: TestZlib.stored(payload), uncompressedLength: UInt64(payload.count))
    }

    static func seal(_ payload: TestPayload) -> [UInt8] { seal(payload.bytes) }

    /// Recomputes the trailer of an edited file.
    static func reseal(_ file: [UInt8]) -> [UInt8] {
        let body = Array(file.dropLast(32))
        return body + IdzChecksum.sha256(body)
    }
}

/// Small models, valid by construction, with the true expanded-weights digest.
enum TestModels {
    /// Dense 4 -> 3 -> 2, identity projection, float32: D = d = 23.
    static func tinyDense() throws -> IdzModel {
        let architecture = Architecture.fullyConnected(inputShape: [4], widths: [3, 2])
        let d = try architecture.parameterCount()
        let theta = StoredTheta.float32((0..<d).map { Float($0) * 0.01 - 0.1 })
        return try model(architecture, seed: 7, theta: theta, projection: ProjectionSpec(kind: .identity, seed: 0, dimension: d))
    }

    /// conv 3x3x3 -> relu -> maxpool 2 -> flatten -> dense 2 on 1x6x6: D = d = 56,
    /// float16, labels and every metadata type.
    static func smallConv() throws -> IdzModel {
        let architecture = Architecture(inputShape: [1, 6, 6], layers: [
            .conv2d(filters: 3, kernel: 3, padding: .valid), .relu, .maxPool(size: 2), .flatten, .dense(units: 2),
        ])
        let d = try architecture.parameterCount()
        let theta = StoredTheta.encode((0..<d).map { Float($0 % 7) * 0.125 - 0.375 }, as: .float16)
        return try model(
            architecture, seed: 0x1234_5678_9ABC_DEF0, theta: theta,
            projection: ProjectionSpec(kind: .identity, seed: 0, dimension: d),
            preprocessing: Preprocessing(inputScale: 1.0 / 255.0, mean: [0.1307], standardDeviation: [0.3081]),
            labels: ["cat", "dog"],
            metadata: [
                MetadataEntry(key: "epochs", value: .int(-3)),
                MetadataEntry(key: "accuracy", value: .double(0.875)),
                MetadataEntry(key: "dataset", value: .string("toy images, ünïcode ok")),
                MetadataEntry(key: "augmented", value: .bool(false)),
                MetadataEntry(key: "run-id", value: .bytes([0, 1, 2, 0xFF])),
            ]
        )
    }

    /// The paper's toy problem, D = d = 1000, int8.
    static func toyInt8() throws -> IdzModel {
        let architecture = Architecture.toy()
        let values = (0..<1000).map { Float(($0 * 37) % 101 - 50) / 25 }
        return try model(architecture, seed: 42, theta: .encode(values, as: .int8), projection: ProjectionSpec(kind: .identity, seed: 0, dimension: 1000))
    }

    /// A model whose digest is that of theta0 + theta_d (exact for the identity projection).
    static func model(
        _ architecture: Architecture, seed: UInt64, theta: StoredTheta, projection: ProjectionSpec,
        preprocessing: Preprocessing = Preprocessing(), labels: [String] = [], metadata: [MetadataEntry] = []
    ) throws -> IdzModel {
        var digest = [UInt8](repeating: 0xAB, count: 32)
        if projection.kind == .identity {
            let theta0 = InitialWeights.make(tensors: try architecture.parameterTensors(), seed: seed)
            let weights = zip(theta0, theta.decoded()).map { $0 + $1 }
            digest = IdzChecksum.weightsSHA256(weights)
        }
        return IdzModel(
            architecture: architecture, theta0Seed: seed, projection: projection, theta: theta,
            preprocessing: preprocessing, labels: labels, metadata: metadata, weightsSHA256: digest
        )
    }
}

struct ContainerTestBytesTests {
    /// The independent writer and the library agree on every section of the format.
    @Test(arguments: ["tinyDense", "smallConv", "toyInt8"])
    func independentWriterMatchesTheLibrary(name: String) throws {
        let model = try [
            "tinyDense": TestModels.tinyDense, "smallConv": TestModels.smallConv, "toyInt8": TestModels.toyInt8,
        ][name]!()
        let file = TestFile.seal(try TestPayload.standard(for: model))
        #expect(try IdzFile.decode(file) == model)
        // Same preamble fields as the library's own file, apart from the compressed length.
        let library = try IdzFile.encode(model)
        #expect(Array(library[0..<16]) == Array(file[0..<16]))
        #expect(Array(library[24..<32]) == Array(file[24..<32]))
    }

    /// The hand-made bomb is a valid zlib stream: declared honestly, it inflates, and the
    /// reader goes on to the sections (where zero bytes are not a valid section).
    @Test func bombStreamIsValidZlib() {
        let bomb = TestZlib.bomb(matches: 100)
        let file = TestFile.seal(compressed: bomb.stream, uncompressedLength: UInt64(bomb.inflatedLength))
        #expect(throws: IdzError.self) { try IdzFile.decode(file) }
        do {
            _ = try IdzFile.decode(file)
        } catch {
            #expect(error.kind == .unknownSection, "\(error)")
        }
    }
}
