import Foundation
import IdzipCore
import Testing

/// One file of the hostile corpus and the error a reader must raise (nil: it is valid).
struct HostileCase: Sendable {
    var name: String
    var bytes: [UInt8]
    var expected: IdzError.Kind?
    /// The uncompressed payload, for cases built from one: a seed for the fuzzer.
    var payload: [UInt8]? = nil
}

/// The corpus of Formats/hostile: every way a file can be wrong that a reader must catch.
/// Structural cases carry a correct SHA-256 trailer so that they reach the deeper checks.
enum HostileCorpus {
    static func cases() throws -> [HostileCase] {
        var cases: [HostileCase] = []
        func add(_ name: String, _ expected: IdzError.Kind?, _ bytes: [UInt8]) {
            cases.append(HostileCase(name: name, bytes: bytes, expected: expected))
        }
        func payload(_ name: String, _ expected: IdzError.Kind?, _ payload: TestPayload) {
            add(name, expected, TestFile.seal(payload))
            cases[cases.count - 1].payload = payload.bytes
        }

        let model = try TestModels.smallConv()
        let file = try IdzFile.encode(model)
        let base = try TestPayload.standard(for: model)
        let d = UInt64(model.projection.dimension)

        // Valid files: seeds for the fuzzer, and proof the checks do not reject good input.
        add("valid-small-conv-float16.idz", nil, file)
        cases[cases.count - 1].payload = base.bytes
        add("valid-tiny-dense-float32.idz", nil, try IdzFile.encode(TestModels.tinyDense()))
        cases[cases.count - 1].payload = try TestPayload.standard(for: TestModels.tinyDense()).bytes
        add("valid-toy-int8.idz", nil, try IdzFile.encode(TestModels.toyInt8()))
        cases[cases.count - 1].payload = try TestPayload.standard(for: TestModels.toyInt8()).bytes
        payload("valid-unknown-ancillary-section.idz", nil, base.appending(0xC0DE, [1, 2, 3]))
        payload("valid-sections-reordered.idz", nil, TestPayload(sections: base.sections.reversed()))

        // Preamble and file length.
        add("empty.idz", .truncated, [])
        add("truncated-in-magic.idz", .truncated, Array(file.prefix(5)))
        add("truncated-in-preamble.idz", .truncated, Array(file.prefix(20)))
        add("truncated-in-payload.idz", .truncated, Array(file.prefix(file.count / 2)))
        add("truncated-in-trailer.idz", .truncated, Array(file.dropLast(1)))
        add("bad-magic.idz", .badMagic, [0x88] + file.dropFirst())
        add("text-file.idz", .badMagic, Array("architecture: lenet\n".utf8))
        add("text-mode-mangled-crlf.idz", .badMagic, Array(file[0..<4]) + Array(file[5...]))
        add("future-version-7.idz", .unsupportedVersion, TestFile.seal(compressed: TestZlib.stored(base.bytes), uncompressedLength: UInt64(base.bytes.count), version: 7))
        add("version-0.idz", .unsupportedVersion, TestFile.seal(compressed: TestZlib.stored(base.bytes), uncompressedLength: UInt64(base.bytes.count), version: 0))
        add("nonzero-flags.idz", .unsupportedFlags, TestFile.seal(compressed: TestZlib.stored(base.bytes), uncompressedLength: UInt64(base.bytes.count), flags: 1))
        add("trailing-bytes.idz", .trailingBytes, file + [0])
        add("two-files-concatenated.idz", .trailingBytes, file + file)
        add("declared-compressed-2e62.idz", .limitExceeded, TestFile.seal(compressed: TestZlib.stored(base.bytes), uncompressedLength: UInt64(base.bytes.count), declaredCompressedLength: 1 << 62))
        add("declared-compressed-past-end.idz", .truncated, TestFile.seal(compressed: TestZlib.stored(base.bytes), uncompressedLength: UInt64(base.bytes.count), declaredCompressedLength: 1 << 20))

        // Corruption: the trailer catches it.
        add("flipped-bit-payload.idz", .checksumMismatch, flipping(file, byte: 40, bit: 3))
        add("flipped-bit-trailer.idz", .checksumMismatch, flipping(file, byte: file.count - 1, bit: 0))
        add("flipped-bit-uncompressed-length.idz", .checksumMismatch, flipping(file, byte: 24, bit: 0))
        add("flipped-bit-compressed-length.idz", .truncated, flipping(file, byte: 19, bit: 0))
        add("flipped-bit-version.idz", .unsupportedVersion, flipping(file, byte: 8, bit: 2))  // 1 -> 5 (bit 1 would give 3, a version that exists)
        add("zeroed-trailer.idz", .checksumMismatch, Array(file.dropLast(32)) + [UInt8](repeating: 0, count: 32))

        // Compression.
        let bomb = TestZlib.bomb(matches: 1000)
        add("zlib-bomb-declared-small.idz", .badCompression, TestFile.seal(compressed: bomb.stream, uncompressedLength: 64))
        add("zlib-bomb-declared-huge.idz", .limitExceeded, TestFile.seal(compressed: bomb.stream, uncompressedLength: 1 << 40))
        add("zlib-bomb-declared-at-limit.idz", .badCompression, TestFile.seal(compressed: TestZlib.stored([1, 2, 3]), uncompressedLength: 256 << 20))
        add("zlib-honest-zeros.idz", .unknownSection, TestFile.seal(compressed: bomb.stream, uncompressedLength: UInt64(bomb.inflatedLength)))
        add("zlib-declared-longer.idz", .badCompression, TestFile.seal(compressed: TestZlib.stored(base.bytes), uncompressedLength: UInt64(base.bytes.count + 10)))
        add("zlib-declared-shorter.idz", .badCompression, TestFile.seal(compressed: TestZlib.stored(base.bytes), uncompressedLength: UInt64(base.bytes.count - 10)))
        add("zlib-not-zlib.idz", .badCompression, TestFile.seal(compressed: Array(repeating: 0xFF, count: 40), uncompressedLength: 40))
        add("zlib-truncated-stream.idz", .badCompression, TestFile.seal(compressed: Array(TestZlib.stored(base.bytes).dropLast(20)), uncompressedLength: UInt64(base.bytes.count)))
        add("zlib-bad-adler.idz", .badCompression, TestFile.seal(compressed: Array(TestZlib.stored(base.bytes).dropLast(1)) + [0], uncompressedLength: UInt64(base.bytes.count)))
        add("zlib-data-after-stream.idz", .badCompression, TestFile.seal(compressed: TestZlib.stored(base.bytes) + [0, 0, 0], uncompressedLength: UInt64(base.bytes.count)))
        add("zlib-empty-stream.idz", .badCompression, TestFile.seal(compressed: [], uncompressedLength: 0))
        add("zlib-empty-payload.idz", .missingSection, TestFile.seal([]))

        // Section framing.
        add("section-length-past-end.idz", .malformedSection, TestFile.seal(base.bytes + TestBytes.build { $0.u16(0x8003); $0.u32(1000); $0.raw([1, 2, 3]) }))
        add("section-length-2e32.idz", .malformedSection, TestFile.seal(base.bytes + TestBytes.build { $0.u16(Tag.labels); $0.u32(.max) }))
        add("payload-ends-in-section-header.idz", .malformedSection, TestFile.seal(base.bytes + [0x01, 0x00, 0x05]))
        payload("unknown-critical-section.idz", .unknownSection, base.appending(0x0042, [1, 2, 3]))
        payload("duplicate-theta0-section.idz", .duplicateSection, base.appending(Tag.theta0, base.body(Tag.theta0)))
        payload("duplicate-labels-section.idz", .duplicateSection, base.appending(Tag.labels, base.body(Tag.labels)))
        payload("missing-projection-section.idz", .missingSection, base.removing(Tag.projection))
        payload("missing-weights-sha256-section.idz", .missingSection, base.removing(Tag.weightsSHA256))
        payload("missing-architecture-section.idz", .missingSection, base.removing(Tag.architecture))
        payload("theta0-section-too-long.idz", .malformedSection, base.replacing(Tag.theta0, with: base.body(Tag.theta0) + [0]))
        payload("theta0-section-too-short.idz", .malformedSection, base.replacing(Tag.theta0, with: Array(base.body(Tag.theta0).prefix(4))))
        payload("weights-sha256-31-bytes.idz", .malformedSection, base.replacing(Tag.weightsSHA256, with: Array(repeating: 1, count: 31)))
        payload("metadata-section-trailing-byte.idz", .malformedSection, base.replacing(Tag.metadata, with: base.body(Tag.metadata) + [0]))

        // Architecture.
        func architecture(_ name: String, _ expected: IdzError.Kind, inputShape: [UInt64], layers: [[UInt8]], layerCount: UInt32? = nil) {
            payload(name, expected, base.replacing(Tag.architecture, with: TestPayload.architectureBody(inputShape: inputShape, layers: layers, layerCount: layerCount)))
        }
        let dense = { (units: UInt64) in TestBytes.build { $0.u8(1); $0.u64(units) } }
        let toy = { (groups: UInt64, size: UInt64) in TestBytes.build { $0.u8(6); $0.u64(groups); $0.u64(size) } }
        architecture("unknown-layer-type.idz", .unknownValue, inputShape: [4], layers: [[99]])
        architecture("unknown-padding.idz", .unknownValue, inputShape: [1, 6, 6], layers: [TestBytes.build { $0.u8(2); $0.u64(3); $0.u64(3); $0.u8(7) }])
        architecture("dense-width-2e60.idz", .limitExceeded, inputShape: [4], layers: [dense(1 << 60)])
        architecture("dense-width-max-uint64.idz", .limitExceeded, inputShape: [4], layers: [dense(.max)])
        architecture("toy-groups-2e30.idz", .limitExceeded, inputShape: [], layers: [toy(1 << 30, 1 << 30)])
        architecture("toy-d-2e48.idz", .invalidArchitecture, inputShape: [], layers: [toy(1 << 24, 1 << 24)])
        architecture("dense-parameters-2e48.idz", .invalidArchitecture, inputShape: [1 << 24], layers: [dense(1 << 24)])
        architecture("input-dimension-2e60.idz", .limitExceeded, inputShape: [1 << 60], layers: [dense(2)])
        architecture("input-dimension-zero.idz", .invalidArchitecture, inputShape: [0], layers: [dense(2)])
        architecture("input-rank-200.idz", .limitExceeded, inputShape: Array(repeating: 1, count: 200), layers: [dense(2)])
        architecture("layer-count-2e32.idz", .limitExceeded, inputShape: [4], layers: [dense(2)], layerCount: .max)
        architecture("more-layers-than-bytes.idz", .malformedSection, inputShape: [4], layers: [dense(2)], layerCount: 1000)
        architecture("no-layers.idz", .invalidArchitecture, inputShape: [4], layers: [])
        architecture("dense-on-image.idz", .invalidArchitecture, inputShape: [1, 6, 6], layers: [dense(2)])
        architecture("kernel-larger-than-input.idz", .invalidArchitecture, inputShape: [1, 6, 6], layers: [TestPayload.layer(.conv2d(filters: 3, kernel: 9, padding: .valid))])
        architecture("architecture-layer-cut-short.idz", .malformedSection, inputShape: [4], layers: [[1, 2, 0]])

        // Tensor table.
        func tensorTable(_ name: String, _ expected: IdzError.Kind, _ body: [UInt8]) {
            payload(name, expected, base.replacing(Tag.tensorTable, with: body))
        }
        let tensors = try model.architecture.parameterTensors()
        func table(count: UInt32? = nil, edit: (Int, inout (name: [UInt8], shape: [UInt64], scheme: UInt8)) -> Void = { _, _ in }) -> [UInt8] {
            TestBytes.build { writer in
                writer.u32(count ?? UInt32(tensors.count))
                for (index, tensor) in tensors.enumerated() {
                    var entry = (name: Array(tensor.name.utf8), shape: tensor.shape.map(UInt64.init), scheme: tensor.initScheme.rawValue)
                    edit(index, &entry)
                    writer.blob(entry.name)
                    writer.u8(UInt8(entry.shape.count))
                    entry.shape.forEach { writer.u64($0) }
                    writer.u8(entry.scheme)
                }
            }
        }
        tensorTable("tensor-table-wrong-shape.idz", .inconsistentShapes, table { index, entry in if index == 0 { entry.shape[0] = 4 } })
        tensorTable("tensor-table-transposed-dense.idz", .inconsistentShapes, table { index, entry in if index == 2 { entry.shape.reverse() } })
        tensorTable("tensor-table-wrong-name.idz", .inconsistentShapes, table { index, entry in if index == 1 { entry.name = Array("layers.0.weight".utf8) } })
        tensorTable("tensor-table-wrong-init-scheme.idz", .inconsistentShapes, table { index, entry in if index == 0 { entry.scheme = 0 } })
        tensorTable("tensor-table-unknown-init-scheme.idz", .unknownValue, table { index, entry in if index == 0 { entry.scheme = 9 } })
        tensorTable("tensor-table-dimension-2e60.idz", .limitExceeded, table { index, entry in if index == 0 { entry.shape[0] = 1 << 60 } })
        tensorTable("tensor-table-rank-9.idz", .limitExceeded, table { index, entry in if index == 0 { entry.shape = Array(repeating: 1, count: 9) } })
        tensorTable("tensor-table-name-invalid-utf8.idz", .invalidUTF8, table { index, entry in if index == 0 { entry.name = [0x6C, 0xC3, 0x28] } })
        tensorTable("tensor-table-one-tensor-missing.idz", .inconsistentShapes, Array(table(count: UInt32(tensors.count - 1)).dropLast(4 + 13 + 1 + 8 + 1)))
        tensorTable("more-tensors-than-bytes.idz", .malformedSection, table(count: .max))
        tensorTable("tensor-name-length-2e31.idz", .limitExceeded, TestBytes.build { $0.u32(UInt32(tensors.count)); $0.u32(1 << 31); $0.raw(Array(repeating: 0, count: 100)) })

        // Projection and theta_d.
        func projection(_ name: String, _ expected: IdzError.Kind, kind: UInt8 = 0, d: UInt64) {
            payload(name, expected, base.replacing(Tag.projection, with: TestPayload.projection(kind: kind, seed: 0, d: d)))
        }
        projection("unknown-projection-kind.idz", .unknownValue, kind: 9, d: d)
        projection("d-2e60.idz", .limitExceeded, kind: 1, d: 1 << 60)
        projection("d-above-limit.idz", .limitExceeded, kind: 1, d: (1 << 26) + 1)
        projection("d-above-D.idz", .invalidValue, kind: 1, d: d + 1)
        projection("d-zero.idz", .invalidValue, kind: 1, d: 0)
        projection("identity-d-below-D.idz", .invalidValue, kind: 0, d: d - 1)
        func theta(_ name: String, _ expected: IdzError.Kind, _ body: (inout TestBytes) -> Void) {
            payload(name, expected, base.replacing(Tag.thetaD, with: TestBytes.build(body)))
        }
        theta("unknown-theta-encoding.idz", .unknownValue) { $0.u8(7); $0.u64(d) }
        theta("theta-count-2e60.idz", .limitExceeded) { $0.u8(1); $0.u64(1 << 60) }
        theta("theta-count-not-d.idz", .invalidValue) { $0.u8(1); $0.u64(d - 1); $0.planes([Float](repeating: 0.25, count: Int(d) - 1)) }
        theta("theta-values-past-end.idz", .malformedSection) { $0.u8(1); $0.u64(d); $0.f32(0) }
        theta("theta-float32-planes-one-byte-short.idz", .malformedSection) { $0.u8(1); $0.u64(d); $0.raw(Array(repeating: 0, count: 4 * Int(d) - 1)) }
        theta("theta-float16-planes-one-byte-short.idz", .malformedSection) { $0.u8(2); $0.u64(d); $0.raw(Array(repeating: 0, count: 2 * Int(d) - 1)) }
        theta("theta-float32-planes-one-byte-over.idz", .malformedSection) { $0.u8(1); $0.u64(d); $0.raw(Array(repeating: 0, count: 4 * Int(d) + 1)) }
        theta("theta-int8-values-past-end.idz", .malformedSection) { $0.u8(3); $0.u64(d); $0.f32(1); $0.u8(0) }
        // Value 5 is non-finite only when the bytes are read as planes (section 4.5).
        theta("theta-float32-nan.idz", .invalidValue) { $0.u8(1); $0.u64(d); $0.planes((0..<d).map { $0 == 5 ? Float.nan : 0 }) }
        theta("theta-float32-infinity-in-exponent-planes.idz", .invalidValue) { $0.u8(1); $0.u64(d); $0.planes((0..<d).map { $0 == 9 ? -Float.infinity : 0.5 }) }
        theta("theta-float16-infinity.idz", .invalidValue) { $0.u8(2); $0.u64(d); $0.planes((0..<d).map { $0 == 5 ? UInt16(0x7C00) : 0 }) }
        theta("theta-int8-scale-nan.idz", .invalidValue) { $0.u8(3); $0.u64(d); $0.f32(.nan); for _ in 0..<d { $0.u8(1) } }
        theta("theta-int8-scale-negative.idz", .invalidValue) { $0.u8(3); $0.u64(d); $0.f32(-1); for _ in 0..<d { $0.u8(1) } }

        // Preprocessing, labels, metadata.
        func preprocessing(_ name: String, _ expected: IdzError.Kind, _ body: (inout TestBytes) -> Void) {
            payload(name, expected, base.replacing(Tag.preprocessing, with: TestBytes.build(body)))
        }
        preprocessing("preprocessing-channels-2e31.idz", .limitExceeded) { $0.f32(1); $0.u32(1 << 31) }
        preprocessing("preprocessing-more-channels-than-bytes.idz", .malformedSection) { $0.f32(1); $0.u32(4000); $0.f32(0) }
        preprocessing("preprocessing-channels-mismatch.idz", .invalidValue) { $0.f32(1); $0.u32(2); $0.f32(0); $0.f32(0); $0.f32(1); $0.f32(1) }
        preprocessing("preprocessing-zero-std.idz", .invalidValue) { $0.f32(1); $0.u32(1); $0.f32(0); $0.f32(0) }
        preprocessing("preprocessing-infinite-scale.idz", .invalidValue) { $0.f32(.infinity); $0.u32(1); $0.f32(0); $0.f32(1) }
        func labels(_ name: String, _ expected: IdzError.Kind, _ body: (inout TestBytes) -> Void) {
            payload(name, expected, base.replacing(Tag.labels, with: TestBytes.build(body)))
        }
        labels("labels-count-not-outputs.idz", .invalidValue) { $0.u32(3); $0.string("a"); $0.string("b"); $0.string("c") }
        labels("labels-count-2e31.idz", .limitExceeded) { $0.u32(1 << 31) }
        labels("more-labels-than-bytes.idz", .malformedSection) { $0.u32(60000); $0.string("a") }
        labels("label-invalid-utf8.idz", .invalidUTF8) { $0.u32(2); $0.string("cat"); $0.blob([0x64, 0x6F, 0xFF]) }
        labels("label-overlong-utf8.idz", .invalidUTF8) { $0.u32(2); $0.string("cat"); $0.blob([0xC0, 0xAF]) }
        labels("label-utf16-surrogate.idz", .invalidUTF8) { $0.u32(2); $0.string("cat"); $0.blob([0xED, 0xA0, 0x80]) }
        labels("label-longer-than-4KiB.idz", .limitExceeded) { $0.u32(2); $0.string("cat"); $0.blob(Array(repeating: 0x61, count: 4097)) }
        labels("label-length-past-end.idz", .malformedSection) { $0.u32(2); $0.string("cat"); $0.u32(100); $0.raw([0x61]) }
        func metadata(_ name: String, _ expected: IdzError.Kind, _ body: (inout TestBytes) -> Void) {
            payload(name, expected, base.replacing(Tag.metadata, with: TestBytes.build(body)))
        }
        metadata("metadata-duplicate-keys.idz", .duplicateMetadataKey) { $0.u32(2); $0.string("seed"); $0.u8(1); $0.u64(1); $0.string("seed"); $0.u8(4); $0.u8(1) }
        metadata("metadata-unknown-type.idz", .unknownValue) { $0.u32(1); $0.string("seed"); $0.u8(9); $0.u64(1) }
        metadata("metadata-bool-2.idz", .invalidValue) { $0.u32(1); $0.string("ok"); $0.u8(4); $0.u8(2) }
        metadata("metadata-string-over-64KiB.idz", .limitExceeded) { $0.u32(1); $0.string("notes"); $0.u8(3); $0.u32(65537) }
        metadata("metadata-bytes-over-64KiB.idz", .limitExceeded) { $0.u32(1); $0.string("blob"); $0.u8(5); $0.u32(1 << 31) }
        metadata("metadata-5000-entries.idz", .limitExceeded) { $0.u32(5000) }
        metadata("more-metadata-than-bytes.idz", .malformedSection) { $0.u32(4000); $0.string("a"); $0.u8(4); $0.u8(1) }
        metadata("metadata-key-invalid-utf8.idz", .invalidUTF8) { $0.u32(1); $0.blob([0x80]); $0.u8(4); $0.u8(1) }
        metadata("metadata-value-invalid-utf8.idz", .invalidUTF8) { $0.u32(1); $0.string("notes"); $0.u8(3); $0.blob([0xE2, 0x82]) }
        metadata("metadata-empty-key.idz", .invalidValue) { $0.u32(1); $0.string(""); $0.u8(4); $0.u8(1) }
        // Section 4.8: a labels section with no labels is invalid (a writer omits the section).
        labels("labels-count-zero.idz", .invalidValue) { $0.u32(0) }
        // The room check counts 5 bytes per metadata entry (key length and type), not the
        // 7 of the smallest complete entry: 2 entries in 12 bytes pass it, and the empty keys
        // are then what the reader reports (section 5).
        metadata("metadata-two-entries-in-12-bytes.idz", .invalidValue) { $0.u32(2); for _ in 0..<2 { $0.u32(0); $0.u8(4); $0.u8(1) } }

        // Two defects: the order of the checks decides the error (section 2, "Reading order").
        // Framing first: a duplicate section is found before any section is parsed.
        payload("two-defects-framing-before-contents.idz", .duplicateSection,
            base.replacing(Tag.architecture, with: TestPayload.architectureBody(inputShape: [4], layers: [[99]]))
                .appending(Tag.labels, base.body(Tag.labels)))
        // Sections are parsed in tag order, not file order: theta_d (0x0005) before preprocessing (0x0006).
        let reordered = TestPayload(sections: base.sections.reversed())
        payload("two-defects-sections-in-tag-order.idz", .unknownValue,
            reordered.replacing(Tag.thetaD, with: TestBytes.build { $0.u8(7); $0.u64(d) })
                .replacing(Tag.preprocessing, with: TestBytes.build { $0.f32(1); $0.u32(4000); $0.f32(0) }))
        // Every section is parsed before the model checks: the label's UTF-8 (parsing)
        // before d = 0 (model check).
        payload("two-defects-parsing-before-model-checks.idz", .invalidUTF8,
            base.replacing(Tag.projection, with: TestPayload.projection(kind: 1, seed: 0, d: 0))
                .replacing(Tag.labels, with: TestBytes.build { $0.u32(2); $0.string("cat"); $0.blob([0xFF]) }))
        // The model checks in their order: labels (count != outputs) before metadata (duplicate key).
        payload("two-defects-model-checks-in-order.idz", .invalidValue,
            base.replacing(Tag.labels, with: TestBytes.build { $0.u32(1); $0.string("a") })
                .replacing(Tag.metadata, with: TestBytes.build { $0.u32(2); $0.string("k"); $0.u8(4); $0.u8(1); $0.string("k"); $0.u8(4); $0.u8(0) }))

        cases += try version2Cases()
        cases += try version3Cases()
        cases += try version3BaseCases()
        return cases
    }

    static func flipping(_ bytes: [UInt8], byte: Int, bit: Int) -> [UInt8] {
        var copy = bytes
        copy[byte] ^= 1 << bit
        return copy
    }
}

/// Decodes every file of Formats/hostile and expects the error its manifest names.
struct ContainerHostileCorpusTests {
    static let manifestName = "MANIFEST"

    /// `<file> <error kind or ok>` per line.
    static func manifest(of cases: [HostileCase]) -> String {
        "# file expected-error-kind (ok: valid; the kinds of Formats/idz-v1.md section 15, the first error in the order of section 2; v2-*: Formats/idz-v2.md section 7; v3-*: Formats/idz-v3.md sections 6 to 9). "
            + "Regenerate: IDZIP_WRITE_HOSTILE_CORPUS=1 swift test --filter ContainerHostileCorpusTests\n"
            + cases.map { "\($0.name) \($0.expected?.rawValue ?? "ok")\n" }.joined()
    }

    static func outcome(of bytes: [UInt8]) -> String {
        do {
            _ = try IdzFile.decode(bytes)
            return "ok"
        } catch {
            return error.kind.rawValue
        }
    }

    /// Messages of some cases, where a second check would raise the same kind of error
    /// and only the message shows which check fired.
    static let expectedMessages: [String: String] = [
        "bad-magic.idz": "not an .idz file (bad magic)",
        "future-version-7.idz": "unsupported .idz version 7 (this idzip reads versions 1 to 3)",
        "v2-compact-crc-flipped.idz": "checksum mismatch: the file is corrupt (CRC-32)",
        "v2-codebook-stream-corrupt.idz": "the coded theta_d stream is corrupt at symbol 0 of 5",
        "v2-codebook-stream-trailing-zero.idz": "ends with a zero byte (not canonical)",
        "v2-two-defects-d-before-codebook.idz": "d 24 exceeds the 23 parameters (D)",
        "v2-standard-codebook-count-not-d.idz": "theta_d has 55 values, but d is 56",
        "flipped-bit-payload.idz": "checksum mismatch: the file is corrupt",
        "truncated-in-payload.idz": "truncated file: ",
        "zlib-bomb-declared-small.idz": "inflates past its declared 64 bytes (a zlib bomb?)",
        "zlib-bomb-declared-at-limit.idz": "is impossible for 14 compressed bytes",
        "zlib-declared-longer.idz": "not the declared",
        "zlib-truncated-stream.idz": "the zlib stream is truncated",
        "zlib-data-after-stream.idz": "3 bytes follow the end of the zlib stream",
        "zlib-bad-adler.idz": "corrupt zlib stream",
        "more-tensors-than-bytes.idz": "more tensors than bytes",
        "more-layers-than-bytes.idz": "more layers than bytes",
        "d-2e60.idz": "declared d 1152921504606846976 exceeds the limit 67108864",
        "unknown-projection-kind.idz": "unknown projection kind 9",
        "unknown-layer-type.idz": "unknown layer type 99",
        "tensor-table-unknown-init-scheme.idz": "unknown init scheme 9",
        "unknown-theta-encoding.idz": "unknown theta encoding 7",
        "tensor-table-wrong-shape.idz": "inconsistent shapes",
        "missing-projection-section.idz": "missing required projection section",
        "duplicate-theta0-section.idz": "duplicate theta0 section",
        "theta0-section-too-long.idz": "1 unexpected trailing bytes in the theta0 section",
        "d-above-D.idz": "exceeds the 56 parameters (D)",
        "identity-d-below-D.idz": "the identity projection needs d = D = 56",
        "theta-count-not-d.idz": "theta_d has 55 values, but d is 56",
        "theta-float32-nan.idz": "theta_d value 5 is not finite",
        "theta-float32-infinity-in-exponent-planes.idz": "theta_d value 9 is not finite",
        "theta-float16-infinity.idz": "theta_d value 5 is not finite",
        "theta-float32-planes-one-byte-short.idz": "more float32 values than bytes: 56 float32 values need at least 224 bytes, 223 remain",
        "metadata-duplicate-keys.idz": "duplicate metadata key \"seed\"",
        "labels-count-zero.idz": "the labels section has no labels",
        "metadata-two-entries-in-12-bytes.idz": "a metadata key is empty",
        "two-defects-sections-in-tag-order.idz": "unknown theta encoding 7",
        "two-defects-model-checks-in-order.idz": "1 labels for a network with 2 outputs",
    ]

    /// The freshly generated cases fail exactly as expected (no crash, no trap).
    @Test func generatedCasesRaiseTheirErrors() throws {
        let cases = try HostileCorpus.cases()
        #expect(Set(cases.map(\.name)).count == cases.count, "duplicate case names")
        for hostile in cases {
            #expect(Self.outcome(of: hostile.bytes) == (hostile.expected?.rawValue ?? "ok"), "\(hostile.name)")
        }
        for (name, fragment) in Self.expectedMessages {
            let hostile = try #require(cases.first { $0.name == name }, "\(name)")
            do {
                _ = try IdzFile.decode(hostile.bytes)
                Issue.record("\(name) decoded")
            } catch {
                #expect(error.description.contains(fragment), "\(name): \(error)")
            }
        }
    }

    /// The committed files fail exactly as their manifest says, and the manifest lists
    /// the same cases as the generator.
    @Test func committedCorpusRaisesTheManifestErrors() throws {
        let cases = try HostileCorpus.cases()
        if ProcessInfo.processInfo.environment["IDZIP_WRITE_HOSTILE_CORPUS"] == "1" {
            try Self.writeCorpus(cases)
        }
        let directory = RepositoryFiles.url("Formats/hostile")
        let manifest = try String(contentsOf: directory.appendingPathComponent(Self.manifestName), encoding: .utf8)
        #expect(manifest == Self.manifest(of: cases), "Formats/hostile is stale: regenerate it")
        let lines = manifest.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines.count == cases.count)
        for line in lines {
            let fields = line.split(separator: " ")
            try #require(fields.count == 2)
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(String(fields[0]))))
            #expect(Self.outcome(of: bytes) == String(fields[1]), "\(fields[0])")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".idz") }
        #expect(Set(files) == Set(cases.map(\.name)), "files not in the manifest")
    }

    /// Every error message is one line.
    @Test func errorMessagesAreOneLine() throws {
        for hostile in try HostileCorpus.cases() {
            do {
                _ = try IdzFile.decode(hostile.bytes)
            } catch {
                #expect(!error.description.contains("\n") && !error.description.isEmpty, "\(hostile.name): \(error)")
            }
        }
    }

    static func writeCorpus(_ cases: [HostileCase]) throws {
        let directory = RepositoryFiles.url("Formats/hostile")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for old in try FileManager.default.contentsOfDirectory(atPath: directory.path) where old.hasSuffix(".idz") {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(old))
        }
        for hostile in cases {
            try Data(hostile.bytes).write(to: directory.appendingPathComponent(hostile.name))
        }
        try Data(manifest(of: cases).utf8).write(to: directory.appendingPathComponent(manifestName))

        // Uncompressed payloads seed the fuzzer's payload mode (Fuzz/README.md).
        let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/seeds").standardized
        try? FileManager.default.removeItem(at: seeds)
        try FileManager.default.createDirectory(at: seeds, withIntermediateDirectories: true)
        for hostile in cases {
            guard let payload = hostile.payload else { continue }
            try Data(payload).write(to: seeds.appendingPathComponent(hostile.name.replacingOccurrences(of: ".idz", with: ".payload")))
        }
    }
}
