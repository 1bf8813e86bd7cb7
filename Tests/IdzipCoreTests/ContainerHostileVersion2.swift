import Foundation
import IdzipCore

/// The version 2 files of the hostile corpus (Formats/idz-v2.md section 7): compact
/// bodies built field by field with a correct CRC-32, so each reaches the check it targets.
extension HostileCorpus {
    /// A compact body of the tiny network input [4] -> dense 3 -> relu -> dense 2 (D = 23),
    /// field by field; every field can be replaced.
    struct CompactBody {
        var architecture: [UInt8] = [1, 4, 3, 1, 3, 4, 1, 2]
        var theta0Seed: [UInt8] = [5]
        var projection: [UInt8] = [1, 7, 5]  // dense, seed 7, d = 5
        var preprocessing: [UInt8] = [0]
        var labels: [UInt8] = [1]  // decimal
        var metadata: [UInt8] = [0]
        var digest: [UInt8] = [0]
        var theta: [UInt8] = CompactBody.codebook(levels: [-0.5, 0, 0.5], symbols: [0, 1, 2, 1, 1])

        var bytes: [UInt8] { architecture + theta0Seed + projection + preprocessing + labels + metadata + digest + theta }

        static func codebook(levels: [Float], symbols: [UInt16]) -> [UInt8] {
            TestBytes.build { w in
                w.u8(4)
                w.u8(UInt8(levels.count))
                w.u8(0)
                for level in levels { w.f32(level) }
            } + RangeCoder.encode(symbols, alphabetSize: levels.count)
        }
    }

    /// magic, version 2, layout, body, CRC-32.
    static func compactFile(_ body: [UInt8], layout: UInt8 = 1, version: UInt32 = 2) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x49, 0x44, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A]
        bytes += withUnsafeBytes(of: version.littleEndian, Array.init)
        bytes.append(layout)
        bytes += body
        return withCRC(bytes)
    }

    static func withCRC(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return bytes + withUnsafeBytes(of: (~crc).littleEndian, Array.init)
    }

    /// A raw deflate stream of one stored block.
    static func rawStored(_ data: [UInt8]) -> [UInt8] {
        let length = UInt16(data.count)
        return [1, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)] + data
    }

    static func version2Cases() throws -> [HostileCase] {
        var cases: [HostileCase] = []
        func add(_ name: String, _ expected: IdzError.Kind?, _ bytes: [UInt8]) {
            cases.append(HostileCase(name: name, bytes: bytes, expected: expected))
        }
        func body(_ name: String, _ expected: IdzError.Kind?, _ edit: (inout CompactBody) -> Void) {
            var body = CompactBody()
            edit(&body)
            add(name, expected, compactFile(body.bytes))
        }
        let valid = CompactBody()

        // Valid files: what idzip writes, and the hand-built body in both layouts.
        var model = try TestModels.smallConv()
        model.theta = StoredTheta.quantize(model.theta.decoded(), levels: 5)
        add("v2-valid-standard-codebook.idz", nil, try IdzFile.encode(model))
        add("v2-valid-compact-codebook-labels-metadata.idz", nil, try IdzFile.encode(model, profile: .compact(weightsDigestBytes: 8)!))
        add("v2-valid-compact-int8.idz", nil, try IdzFile.encode(TestModels.toyInt8(), profile: .compact))
        add("v2-valid-compact-by-hand.idz", nil, compactFile(valid.bytes))
        let deflated = rawStored(valid.bytes)
        add("v2-valid-compact-deflated.idz", nil, compactFile([UInt8(valid.bytes.count)] + deflated, layout: 2))
        // A cut stream still decodes (zeros past the end): only the CRC catches a cut.
        body("v2-codebook-stream-cut-to-nothing.idz", nil) { $0.theta = Array($0.theta.prefix(15)) }
        body("v2-projection-seed-derived.idz", nil) { $0.projection = [0x81, 5] }

        // Preamble and layout.
        add("v2-truncated-before-layout.idz", .truncated, Array(compactFile(valid.bytes).prefix(12)))
        add("v2-compact-shorter-than-trailer.idz", .truncated, Array(compactFile(valid.bytes).prefix(16)))
        add("v2-unknown-layout-3.idz", .unsupportedFlags, compactFile(valid.bytes, layout: 3))
        add("v2-future-version-4.idz", .unsupportedVersion, compactFile(valid.bytes, version: 4))
        add("v2-compact-crc-flipped.idz", .checksumMismatch, flipping(compactFile(valid.bytes), byte: 20, bit: 0))
        add("v2-compact-crc-missing.idz", .checksumMismatch, Array(compactFile(valid.bytes).dropLast(4)))
        add("v2-deflated-bomb-declared.idz", .badCompression, compactFile([0x80, 0x80, 0x04] + deflated, layout: 2))
        add("v2-deflated-declared-longer.idz", .badCompression, compactFile([UInt8(valid.bytes.count + 1)] + deflated, layout: 2))
        add("v2-deflated-body-past-limit.idz", .limitExceeded, compactFile([0x80, 0x80, 0x80, 0x80, 0x08] + deflated, layout: 2))
        add("v2-deflated-garbage.idz", .badCompression, compactFile([4, 0xFF, 0xFF, 0xFF], layout: 2))

        // Varints and the architecture.
        body("v2-varint-redundant-zero.idz", .malformedSection) { $0.architecture[0...0] = [0x81, 0x00] }
        body("v2-varint-11-bytes.idz", .malformedSection) { $0.theta0Seed = [UInt8](repeating: 0x80, count: 10) + [1] }
        body("v2-varint-above-2e64.idz", .malformedSection) { $0.theta0Seed = [UInt8](repeating: 0xFF, count: 9) + [2] }
        body("v2-input-rank-9.idz", .limitExceeded) { $0.architecture = [9] + [UInt8](repeating: 1, count: 9) + [1, 1, 2] }
        body("v2-layer-count-2000.idz", .limitExceeded) { $0.architecture = [1, 4, 0xD0, 0x0F] }
        body("v2-more-layers-than-bytes.idz", .malformedSection) { $0.architecture = [1, 4, 0xE8, 0x07] }
        body("v2-unknown-layer-type.idz", .unknownValue) { $0.architecture[3] = 99 }
        body("v2-invalid-architecture.idz", .invalidArchitecture) { $0.architecture = [1, 4, 1, 3, 1] }
        body("v2-body-ends-in-architecture.idz", .malformedSection) { $0 = CompactBody(); $0.architecture = [1, 4, 3, 1]
            $0.theta0Seed = []; $0.projection = []; $0.preprocessing = []; $0.labels = []; $0.metadata = []; $0.digest = []; $0.theta = [] }

        // Projection: checked as soon as d is read, before theta_d.
        body("v2-unknown-projection-kind.idz", .unknownValue) { $0.projection = [5, 7, 5] }
        body("v2-d-2e60.idz", .limitExceeded) { $0.projection = [1, 7] + [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10] }
        body("v2-d-above-D.idz", .invalidValue) { $0.projection = [1, 7, 24] }
        body("v2-d-zero.idz", .invalidValue) { $0.projection = [1, 7, 0] }
        body("v2-two-defects-d-before-codebook.idz", .invalidValue) { $0.projection = [1, 7, 24]; $0.theta = [4, 0x88, 0x27, 0] }

        // Preprocessing, labels, metadata, digest.
        body("v2-preprocessing-form-7.idz", .unknownValue) { $0.preprocessing = [7] }
        body("v2-preprocessing-std-zero.idz", .invalidValue) { $0.preprocessing = TestBytes.build { $0.u8(1); $0.f32(1); $0.u8(1); $0.f32(0); $0.f32(0) } }
        body("v2-preprocessing-channels-past-end.idz", .malformedSection) { $0.preprocessing = [1, 0, 0, 0x80, 0x3F, 0x80, 0x20] }
        body("v2-label-form-3.idz", .unknownValue) { $0.labels = [3] }
        body("v2-stored-labels-count-zero.idz", .invalidValue) { $0.labels = [2, 0] }
        body("v2-stored-labels-wrong-count.idz", .invalidValue) { $0.labels = [2, 1, 1, 0x61] }
        body("v2-stored-label-invalid-utf8.idz", .invalidUTF8) { $0.labels = [2, 2, 1, 0x61, 1, 0xFF] }
        body("v2-metadata-count-5000.idz", .limitExceeded) { $0.metadata = [0x88, 0x27] }
        body("v2-metadata-unknown-type.idz", .unknownValue) { $0.metadata = [1, 1, 0x6B, 9] }
        body("v2-metadata-duplicate-keys.idz", .duplicateMetadataKey) { $0.metadata = [2, 1, 0x6B, 4, 1, 1, 0x6B, 4, 0] }
        body("v2-metadata-bool-2.idz", .invalidValue) { $0.metadata = [1, 1, 0x6B, 4, 2] }
        body("v2-digest-length-5.idz", .invalidValue) { $0.digest = [5, 1, 2, 3, 4, 5] }
        body("v2-digest-past-end.idz", .malformedSection) { $0.digest = [32, 1, 2]; $0.theta = [] }

        // theta_d.
        body("v2-unknown-theta-encoding.idz", .unknownValue) { $0.theta = [9] }
        body("v2-float32-one-byte-short.idz", .malformedSection) { $0.theta = [1] + [UInt8](repeating: 0, count: 19) }
        body("v2-float32-one-byte-long.idz", .malformedSection) { $0.theta = [1] + [UInt8](repeating: 0, count: 21) }
        body("v2-float16-nan.idz", .invalidValue) { $0.theta = [2, 0, 0, 0, 0, 0, 0, 0x7E, 0, 0, 0] }
        body("v2-int8-scale-zero.idz", .invalidValue) { $0.theta = [3, 0, 0, 0, 0, 1, 2, 3, 4, 5] }
        body("v2-codebook-no-levels.idz", .invalidValue) { $0.theta = [4, 0, 0] }
        body("v2-codebook-5000-levels.idz", .limitExceeded) { $0.theta = [4, 0x88, 0x27, 0] }
        body("v2-codebook-unknown-level-format.idz", .unknownValue) { $0.theta = [4, 2, 2, 0, 0] }
        body("v2-codebook-levels-past-end.idz", .malformedSection) { $0.theta = [4, 0xE8, 0x07, 0, 1, 2, 3] }
        body("v2-codebook-level-nan.idz", .invalidValue) { $0.theta = CompactBody.codebook(levels: [0, .nan, 1], symbols: [0, 0, 0, 0, 0]) }
        body("v2-codebook-float16-level-infinity.idz", .invalidValue) { $0.theta = [4, 2, 1, 0, 0x3C, 0, 0x7C] }
        body("v2-codebook-stream-corrupt.idz", .invalidValue) { $0.theta = Array($0.theta.prefix(15)) + [0xFF, 0xFF, 0xFF, 0xFF] }
        body("v2-codebook-stream-trailing-zero.idz", .invalidValue) { $0.theta += [0] }
        body("v2-codebook-stream-unused-bytes.idz", .invalidValue) { $0.theta += [7, 7, 7, 7, 7, 7] }

        // The standard layout of version 2, and version 1 with a codebook.
        let standard = try IdzFile.encode(model)
        var versionOne = standard
        versionOne.remove(at: 12)
        versionOne[8] = 1
        let payloadEnd = versionOne.count - 32
        versionOne = Array(versionOne[..<payloadEnd]) + IdzChecksum.sha256(Array(versionOne[..<payloadEnd]))
        add("v1-with-codebook-encoding.idz", .unknownValue, versionOne)
        var countLies = try TestPayload.standard(for: model)
        let d = UInt64(model.projection.dimension)
        let thetaBody = TestBytes.build { $0.u8(4); $0.u64(d - 1) } + CompactBody.codebook(levels: [0, 1], symbols: []).dropFirst()
        countLies = countLies.replacing(Tag.thetaD, with: thetaBody)
        add("v2-standard-codebook-count-not-d.idz", .invalidValue, versionTwo(TestFile.seal(countLies)))
        return cases
    }

    /// A version 1 file rewritten as version 2's standard layout (layout byte 0, new trailer).
    static func versionTwo(_ file: [UInt8]) -> [UInt8] {
        var bytes = Array(file.dropLast(32))
        bytes[8] = 2
        bytes.insert(0, at: 12)
        return bytes + IdzChecksum.sha256(bytes)
    }
}
