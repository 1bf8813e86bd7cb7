import Foundation
import IdzipCore

/// The version 3 files of the hostile corpus for sections 6 and 7 of Formats/idz-v3.md:
/// base-relative models (0x000A) and tensor modes and scales (0x000B).
extension HostileCorpus {
    static let baseTag: UInt16 = 0x000A
    static let modesTag: UInt16 = 0x000B

    /// Dense 4 -> 3 -> 2 (tensors: 12, 3, 6, 2; D = 23), dense projection d = 5, seed 0.
    static func baseModel() -> IdzModel {
        IdzModel(
            architecture: .fullyConnected(inputShape: [4], widths: [3, 2]), theta0Seed: 0,
            projection: ProjectionSpec(kind: .dense, seed: 7, dimension: 5),
            theta: .float32([0.5, -0.25, 0.125, 1, -1]), weightsSHA256: [UInt8](repeating: 0xAB, count: 32))
    }

    /// magic, version, layout byte, flags, lengths, stored zlib payload, SHA-256.
    static func sealStandard(_ payload: [UInt8], version: UInt32, layout: UInt8 = 0) -> [UInt8] {
        let compressed = TestZlib.stored(payload)
        let body = TestBytes.build { writer in
            writer.raw(TestFile.magic)
            writer.u32(version)
            writer.u8(layout)
            writer.u32(0)
            writer.u64(UInt64(compressed.count))
            writer.u64(UInt64(payload.count))
            writer.raw(compressed)
        }
        return body + IdzChecksum.sha256(body)
    }

    static func baseBody(digest: [UInt8] = Array(0..<32), locator: [UInt8] = Array("lenet-mnist.safetensors".utf8)) -> [UInt8] {
        TestBytes.build { writer in
            writer.raw(digest)
            writer.u32(UInt32(locator.count))
            writer.raw(locator)
        }
    }

    /// flags, count, modes, scales, direct count, direct values as byte planes.
    static func modesBody(
        flags: UInt8 = 1, count: UInt32? = nil, modes: [UInt8] = [0, 1, 0, 2], scales: [Float] = [1.5, -0.5],
        directCount: UInt64? = nil, direct: [Float] = [0.1, 0.2, 0.3]
    ) -> [UInt8] {
        TestBytes.build { writer in
            writer.u8(flags)
            writer.u32(count ?? UInt32(modes.count))
            for mode in modes { writer.u8(mode) }
            for scale in scales { writer.f32(scale) }
            writer.u64(directCount ?? UInt64(direct.count))
            writer.planes(direct)
        }
    }

    static func version3BaseCases() throws -> [HostileCase] {
        var cases: [HostileCase] = []
        let plain = try TestPayload.standard(for: baseModel())
        func add(_ name: String, _ expected: IdzError.Kind?, _ payload: TestPayload, version: UInt32 = 3, layout: UInt8 = 0) {
            cases.append(HostileCase(name: name, bytes: sealStandard(payload.bytes, version: version, layout: layout), expected: expected, payload: payload.bytes))
        }
        let full = plain.appending(baseTag, baseBody()).appending(modesTag, modesBody())

        // Valid: what idzip writes, and the hand-built sections.
        var model = baseModel()
        model.base = BaseReference(sha256: Array(0..<32), locator: "lenet-mnist.safetensors")
        model.tensorModes = TensorModes(modes: [.subspace, .direct, .subspace, .frozen], scales: [1.5, -0.5], directValues: [0.1, 0.2, 0.3])
        cases.append(HostileCase(name: "v3-valid-base-scales-direct-frozen.idz", bytes: try IdzFile.encode(model), expected: nil))
        add("v3-valid-by-hand.idz", nil, full)
        add("v3-valid-base-only-empty-locator.idz", nil, plain.appending(baseTag, baseBody(locator: [])))
        add("v3-valid-modes-only-no-scales.idz", nil, plain.replacing(Tag.theta0, with: TestBytes.build { $0.u64(9) })
            .appending(modesTag, modesBody(flags: 0, scales: [])))

        // Versions and layout.
        add("v3-base-section-in-version-1.idz", .unknownSection, plain.appending(baseTag, baseBody()), version: 1, layout: 0)
        cases[cases.count - 1].bytes = TestFile.seal(plain.appending(baseTag, baseBody()))
        add("v3-modes-section-in-version-2.idz", .unknownSection, plain.appending(modesTag, modesBody()), version: 2)
        add("v3-layout-1.idz", .unsupportedFlags, full, layout: 1)
        add("v3-duplicate-base-section.idz", .duplicateSection, full.appending(baseTag, baseBody()))

        // Section 0x000A.
        add("v3-base-digest-cut-short.idz", .malformedSection, plain.appending(baseTag, Array(0..<31)))
        add("v3-base-locator-over-4KiB.idz", .limitExceeded, plain.appending(baseTag, baseBody(locator: [UInt8](repeating: 0x61, count: 4097))))
        add("v3-base-locator-invalid-utf8.idz", .invalidUTF8, plain.appending(baseTag, baseBody(locator: [0x66, 0xC3, 0x28])))
        add("v3-base-trailing-byte.idz", .malformedSection, plain.appending(baseTag, baseBody() + [0]))
        add("v3-base-theta0-seed-not-zero.idz", .invalidValue,
            full.replacing(Tag.theta0, with: TestBytes.build { $0.u64(3) }))

        // Section 0x000B.
        add("v3-modes-unknown-flag.idz", .invalidValue, plain.appending(modesTag, modesBody(flags: 3)))
        add("v3-modes-count-not-tensors.idz", .inconsistentShapes, plain.appending(modesTag, modesBody(count: 5)))
        add("v3-modes-unknown-mode-3.idz", .unknownValue, plain.appending(modesTag, modesBody(modes: [0, 1, 0, 3])))
        add("v3-modes-scales-cut-short.idz", .malformedSection, plain.appending(modesTag, Array(modesBody().prefix(10))))
        add("v3-modes-direct-count-wrong.idz", .inconsistentShapes, plain.appending(modesTag, modesBody(directCount: 2)))
        add("v3-modes-direct-count-2e62.idz", .limitExceeded, plain.appending(modesTag, modesBody(directCount: 1 << 62)))
        add("v3-modes-direct-values-past-end.idz", .malformedSection,
            plain.appending(modesTag, Array(modesBody().dropLast(4))))
        add("v3-modes-says-nothing.idz", .invalidValue, plain.appending(modesTag, modesBody(flags: 0, modes: [0, 0, 0, 0], scales: [], direct: [])))
        add("v3-modes-scale-nan.idz", .invalidValue, plain.appending(modesTag, modesBody(scales: [1, .nan])))
        add("v3-modes-direct-infinity.idz", .invalidValue, plain.appending(modesTag, modesBody(direct: [0.1, .infinity, 0.3])))
        let identity = plain.replacing(Tag.projection, with: TestPayload.projection(kind: 0, seed: 0, d: 23))
            .replacing(Tag.thetaD, with: TestBytes.build { writer in
                writer.u8(1)
                writer.u64(23)
                writer.planes([Float](repeating: 0, count: 23))
            })
        add("v3-modes-with-identity-projection.idz", .invalidValue, identity.appending(modesTag, modesBody()))
        return cases
    }
}
