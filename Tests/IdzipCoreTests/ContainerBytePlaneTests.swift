import CZlib
import Foundation
import IdzipCore
import Testing

/// float32 and float16 theta_d values are stored as byte planes (Formats/idz-v1.md 4.5).
struct ContainerBytePlaneTests {
    /// The worked examples of section 4.5, through the independent test writer.
    @Test func workedExamplesOfTheSpec() {
        // 0.1 = 0x3DCCCCCD, -1.5 = 0xBFC00000, 3.0 = 0x40400000.
        let float32 = TestBytes.build { $0.planes([Float(0.1), -1.5, 3.0]) }
        #expect(float32 == [0xCD, 0x00, 0x00, 0xCC, 0x00, 0x00, 0xCC, 0xC0, 0x40, 0x3D, 0xBF, 0x40])
        // float16 0.1 = 0x2E66, -2.0 = 0xC000.
        let float16 = TestBytes.build { $0.planes([HalfFloat.bits(from: 0.1), HalfFloat.bits(from: -2)]) }
        #expect(float16 == [0x66, 0x00, 0x2E, 0xC0])
    }

    /// The library's theta_d section is the planes, byte for byte, for every d from 1 to
    /// 8 (= D) and both plane encodings, and decodes back to the same values.
    @Test(arguments: [ThetaEncoding.float32, .float16])
    func libraryWritesPlanes(encoding: ThetaEncoding) throws {
        let architecture = Architecture.fullyConnected(inputShape: [3], widths: [2])
        for d in 1...8 {
            let values = (0..<d).map { Float($0) * -0.37 + 0.11 }
            let model = try TestModels.model(
                architecture, seed: 3, theta: .encode(values, as: encoding),
                projection: ProjectionSpec(kind: .dense, seed: 1, dimension: d)
            )
            let file = TestFile.seal(try TestPayload.standard(for: model))
            #expect(try IdzFile.decode(file) == model)
            let library = try IdzFile.decode(try IdzFile.encode(model))
            #expect(library == model)
        }
    }

    /// A large theta_d (d = 2^22) round-trips through the planes exactly, bit patterns
    /// included (negative zero, subnormals, the largest float).
    @Test func largeThetaRoundTrips() throws {
        let d = 1 << 22
        let stream = RandomStream(seed: 99, purpose: .sampleTheta)
        var values = (0..<d).map { n in
            let value = Float(bitPattern: stream.word(UInt64(n)))
            return value.isFinite ? value : 1
        }
        values[0] = -0.0
        values[1] = .leastNonzeroMagnitude
        values[2] = -.greatestFiniteMagnitude
        let architecture = Architecture.fullyConnected(inputShape: [2048], widths: [2048])
        let model = IdzModel(
            architecture: architecture, theta0Seed: 1,
            projection: ProjectionSpec(kind: .sparse, seed: 2, dimension: d),
            theta: .float32(values), weightsSHA256: Array(repeating: 0, count: 32)
        )
        let decoded = try IdzFile.decode(try IdzFile.encode(model))
        guard case .float32(let back) = decoded.theta else {
            Issue.record("not float32")
            return
        }
        #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
    }

    /// The reason for the planes: a d = 1000 fc:784-200-200-10 model with normal theta_d
    /// (standard deviation 0.5) compresses smaller than with the values stored one after
    /// the other, by more than 50 bytes (86 with this data: 3925 -> 3839
    /// compressed bytes), and the whole file stays under 4 KiB.
    @Test func planesCompressBetterThanPlainValues() throws {
        let d = 1000
        let stream = RandomStream(seed: 2024, purpose: .sampleTheta)
        let values: [Float] = (0..<d).map { Float(0.5 * stream.normal(UInt64($0))) }
        let architecture = Architecture.fullyConnected(inputShape: [784], widths: [200, 200, 10])
        let model = try TestModels.model(
            architecture, seed: 1, theta: .float32(values),
            projection: ProjectionSpec(kind: .fastfood, seed: 2, dimension: d)
        )
        let file = try IdzFile.encode(model)
        let planesCompressed = file.count - 64

        // The same payload with theta_d's values stored plainly, compressed as idzip does.
        let payload = try TestPayload.standard(for: model)
        #expect(try IdzFile.decode(TestFile.seal(payload)) == model)
        let plain = payload.replacing(Tag.thetaD, with: TestBytes.build { writer in
            writer.u8(1)
            writer.u64(UInt64(d))
            values.forEach { writer.f32($0) }
        })
        let plainCompressed = try #require(Self.deflate(plain.bytes)).count
        #expect(plainCompressed - planesCompressed > 50, "planes \(planesCompressed) bytes, plain \(plainCompressed) bytes")
        #expect(file.count < 4096, "\(file.count) bytes")
    }

    /// zlib level 9, as idzip's writer uses.
    static func deflate(_ bytes: [UInt8]) -> [UInt8]? {
        var capacity = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { compress2(out.baseAddress, &capacity, $0.baseAddress, uLong($0.count), 9) }
        }
        guard status == Z_OK else { return nil }
        return Array(output.prefix(Int(capacity)))
    }
}
