import IdzipCore
import Testing

/// The pipelined expansion (next chunk generated while the current one is consumed):
/// chunks arrive in order and cover every row once, and a failing consumer stops it.
struct ExpansionPipelineTests {
    struct SinkFailure: Error, Equatable {}

    static func expander(chunkSize: Int) -> WeightExpander {
        let tensors = [TensorSpec(name: "w", shape: [1000], initScheme: .heNormal, fanIn: 10, fanOut: 100, offset: 0)]
        let projection = makeProjection(kind: .fastfood, rowCount: 1000, columnCount: 30, seed: 3, cachesTables: false)
        var expander = WeightExpander(
            tensors: tensors, theta0Seed: 2, projection: projection, thetaD: [Float](repeating: 0.5, count: 30))
        expander.chunkSize = chunkSize
        return expander
    }

    @Test func chunksArriveInOrder() {
        let whole = Self.expander(chunkSize: 1 << 20).expandAll()
        var seen: [Range<Int>] = []
        var values: [Float] = []
        Self.expander(chunkSize: 64).forEachChunk { rows, chunk in
            seen.append(rows)
            values.append(contentsOf: chunk)
        }
        #expect(seen.count == 16 && seen.first == 0..<64 && seen.last == 960..<1000)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(values.map(\.bitPattern) == whole.map(\.bitPattern))
    }

    @Test func failingSinkStopsTheExpansion() {
        var calls = 0
        #expect(throws: SinkFailure()) {
            try Self.expander(chunkSize: 64).forEachChunk { (_, _) throws(SinkFailure) in
                calls += 1
                if calls == 3 { throw SinkFailure() }
            }
        }
        #expect(calls == 3)
    }
}
