import Foundation
import Testing
import IdzipCore

/// Checks the streams against Formats/test-vectors/random.json, which an independent
/// Python implementation of the spec wrote (Tests/python/make_random_vectors.py).
struct RandomVectorTests {
    struct Vectors: Decodable {
        struct Case: Decodable {
            var seed: String
            var purpose_value: UInt32
            var substream: UInt32
            /// The block indices of `blocks` (decimal, spec section 8.6).
            var block_indices: [String]
            var blocks: [[String]]
            var uint64: [String]
            var uniform_float32_bits: [String]
            var uniform_float64_bits: [String]
            var signs: [Int]
            var normal_float64_bits: [String]
            var normal_float32_bits: [String]
            var integer_below_1000: [UInt64]
            var permutation_10: [UInt32]
        }
        var cases: [Case]
    }

    static func load() throws -> Vectors {
        let data = try Data(contentsOf: RepositoryFiles.url("Formats/test-vectors/random.json"))
        return try JSONDecoder().decode(Vectors.self, from: data)
    }

    @Test func streamsMatchTheReference() throws {
        let vectors = try Self.load()
        #expect(vectors.cases.count >= 5)
        for testCase in vectors.cases {
            let seed = try #require(UInt64(testCase.seed))
            let purpose = try #require(StreamPurpose(rawValue: testCase.purpose_value))
            let stream = RandomStream(seed: seed, purpose: purpose, substream: testCase.substream)
            // The file names its block indices; one sets the counter's high word.
            let indices = try testCase.block_indices.map { try #require(UInt64($0)) }
            #expect(indices == [0, 1, 4_294_967_301] && testCase.blocks.count == indices.count)
            for (expected, index) in zip(testCase.blocks, indices) {
                let block = stream.block(index)
                #expect([block.0, block.1, block.2, block.3].map { hex($0) } == expected)
            }
            #expect((0..<4).map { hex(stream.uint64($0)) } == testCase.uint64)
            #expect((0..<4).map { hex(stream.uniformFloat($0).bitPattern) } == testCase.uniform_float32_bits)
            #expect((0..<4).map { hex(stream.uniformDouble($0).bitPattern) } == testCase.uniform_float64_bits)
            #expect((0..<40).map { Int(stream.sign(UInt64($0))) } == testCase.signs)
            #expect((0..<8).map { hex(stream.normal(UInt64($0)).bitPattern) } == testCase.normal_float64_bits)
            var normals = [Float](repeating: 0, count: 8)
            normals.withUnsafeMutableBufferPointer { stream.fillNormals($0, start: 0) }
            #expect(normals.map { hex($0.bitPattern) } == testCase.normal_float32_bits)
            #expect((0..<4).map { stream.integer(UInt64($0), below: 1000) } == testCase.integer_below_1000)
            #expect(stream.permutation(count: 10) == testCase.permutation_10)
        }
    }

    /// Bulk generation from any start equals element-wise generation.
    @Test func bulkNormalsMatchSingleNormals() {
        let stream = RandomStream(seed: 7, purpose: .theta0, substream: 2)
        for start in [UInt64(0), 1, 2, 5] {
            for count in [0, 1, 2, 3, 10] {
                var bulk = [Float](repeating: 0, count: count)
                bulk.withUnsafeMutableBufferPointer { stream.fillNormals($0, start: start, scale: 0.5) }
                let single = (0..<count).map { Float(stream.normal(start + UInt64($0)) * 0.5) }
                #expect(bulk == single)
            }
        }
    }
}

/// Lower-case hex with leading zeros to the type's width.
func hex<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: T.bitWidth / 4 - digits.count) + digits
}
