import Foundation
import IdzipCore
import Testing

/// theta = theta0 + P theta_d written once (`Reparameterization`) gives the bits of the
/// loops it replaced: the expander's (theta0, then P theta_d, then theta0 + p) and the
/// trainers' (P theta_d, then theta += theta0), for any thread count and row split.
struct ReparameterizationTests {
    static let tensors = [
        TensorSpec(name: "layers.1.weight", shape: [30, 50], initScheme: .heNormal, fanIn: 50, fanOut: 30, offset: 0),
        TensorSpec(name: "layers.1.bias", shape: [30], initScheme: .zeros, fanIn: 50, fanOut: 30, offset: 1500),
        TensorSpec(name: "layers.3.weight", shape: [7, 30], initScheme: .glorotUniform, fanIn: 30, fanOut: 7, offset: 1530),
        TensorSpec(name: "layers.3.bias", shape: [7], initScheme: .zeros, fanIn: 30, fanOut: 7, offset: 1740),
    ]
    static let parameterCount = 1747
    static let d = 40

    static func thetaD() -> [Float] {
        let stream = RandomStream(seed: 9, purpose: .sampleTheta)
        return (0..<d).map { Float(stream.uniformDouble(UInt64($0)) - 0.5) }
    }

    /// The expander's loop before `Reparameterization`: theta0 first, then theta0 + p.
    static func oldExpanderLoop(_ projection: any Projection, theta0: [Float], thetaD: [Float]) -> [Float] {
        var projected = [Float](repeating: 0, count: parameterCount)
        projected.withUnsafeMutableBufferPointer { out in
            thetaD.withUnsafeBufferPointer { projection.project($0, rows: 0..<parameterCount, into: out) }
        }
        var theta = theta0
        for i in 0..<theta.count { theta[i] = theta[i] + projected[i] }
        return theta
    }

    /// The trainers' loop before `Reparameterization`: P theta_d, then theta += theta0.
    static func oldTrainerLoop(_ projection: any Projection, theta0: [Float], thetaD: [Float]) -> [Float] {
        var theta = [Float](repeating: 0, count: parameterCount)
        theta.withUnsafeMutableBufferPointer { out in
            thetaD.withUnsafeBufferPointer { projection.project($0, rows: 0..<parameterCount, into: out) }
        }
        for i in 0..<theta.count { theta[i] += theta0[i] }
        return theta
    }

    @Test(arguments: [ProjectionKind.dense, .sparse, .fastfood])
    func equalsTheOldLoops(kind: ProjectionKind) {
        let projection = makeProjection(kind: kind, rowCount: Self.parameterCount, columnCount: Self.d, seed: 4, threads: 2, cachesTables: false)
        let theta0 = InitialWeights.make(tensors: Self.tensors, seed: 17, threads: 1)
        let thetaD = Self.thetaD()
        let expected = Self.oldExpanderLoop(projection, theta0: theta0, thetaD: thetaD).map(\.bitPattern)
        #expect(Self.oldTrainerLoop(projection, theta0: theta0, thetaD: thetaD).map(\.bitPattern) == expected)

        for threads in [1, 2, 3] {
            #expect(InitialWeights.make(tensors: Self.tensors, seed: 17, threads: threads) == theta0)
            let held = Reparameterization(theta0: .values(theta0), projection: projection)
            #expect(held.theta(thetaD, threads: threads).map(\.bitPattern) == expected, "theta0 in memory, \(threads) threads")
            let generated = Reparameterization(theta0: .generated(tensors: Self.tensors, seed: 17), projection: projection)
            #expect(generated.theta(thetaD, threads: threads).map(\.bitPattern) == expected, "theta0 generated, \(threads) threads")

            // Any row split: rows written piece by piece give the same values.
            var pieces = [Float](repeating: .nan, count: Self.parameterCount)
            pieces.withUnsafeMutableBufferPointer { out in
                thetaD.withUnsafeBufferPointer { v in
                    var start = 0
                    for length in [1, 100, 513, 1000, 133] {
                        let rows = start..<min(Self.parameterCount, start + length)
                        generated.write(thetaD: v, rows: rows, into: UnsafeMutableBufferPointer(rebasing: out[rows]), threads: threads)
                        start = rows.upperBound
                    }
                }
            }
            #expect(pieces.map(\.bitPattern) == expected)

            var expander = WeightExpander(tensors: Self.tensors, theta0Seed: 17, projection: projection, thetaD: thetaD, threads: threads)
            expander.chunkSize = 256
            #expect(expander.expandAll().map(\.bitPattern) == expected, "expander, \(threads) threads")
        }
    }

    /// Fastfood adds theta0 in the pass that scales each block's rows (`BaseAddingProjection`):
    /// the bits of `project` followed by the addition, with cached and regenerated tables,
    /// 1-3 threads (blocks grouped per piece) and row ranges that cut blocks.
    @Test(arguments: [false, true])
    func fastfoodAddsTheta0InItsLastPass(cachesTables: Bool) {
        for (D, d) in [(Self.parameterCount, Self.d), (20_000, 40), (5000, 700)] {
            let stream = RandomStream(seed: 5, purpose: .sampleTheta)
            let theta0 = (0..<D).map { Float(stream.uniformDouble(UInt64($0)) - 0.5) }
            let thetaD = (0..<d).map { Float(stream.uniformDouble(UInt64(1 << 40 + $0)) - 0.5) }
            for threads in [1, 2, 3] {
                let projection = FastfoodProjection(rowCount: D, columnCount: d, seed: 6, threads: threads, cachesTables: cachesTables)
                let expected = zip(projection.project(thetaD), theta0).map { ($0 + $1).bitPattern }
                let reparameterization = Reparameterization(theta0: .values(theta0), projection: projection)
                #expect(reparameterization.theta(thetaD, threads: threads).map(\.bitPattern) == expected, "D \(D), \(threads) threads")
                for range in [0..<1, 3..<70, 1000..<min(D, 1999), (D - 777)..<D] {
                    var part = [Float](repeating: .nan, count: range.count)
                    thetaD.withUnsafeBufferPointer { v in
                        part.withUnsafeMutableBufferPointer {
                            reparameterization.write(thetaD: v, rows: range, into: $0, threads: threads)
                        }
                    }
                    #expect(part.map(\.bitPattern) == Array(expected[range]), "D \(D), \(range), \(threads) threads")
                }
            }
        }
    }

    /// The sample models expand to their listed digests with 1, 2 and 3 threads.
    @Test(arguments: try SampleModelTests.listedDigests().map(\.file))
    func expansionDigestDoesNotDependOnThreads(file: String) throws {
        let listed = try #require(try SampleModelTests.listedDigests().first { $0.file == file }).digest
        var model = try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/\(file)"))
        if let base = model.base {
            // A version 3 sample's base is another sample, named by its locator (Formats/idz-v3.md section 6).
            let baseModel = try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/\(base.locator)"))
            try model.attachBase(BaseWeights(values: ModelExpansion.weights(of: baseModel)))
        }
        for threads in [1, 2, 3] {
            #expect(hexString(try ModelExpansion.digest(of: model, threads: threads)) == listed, "\(threads) threads")
        }
        let one = try ModelExpansion.weights(of: model, threads: 1)
        #expect(try ModelExpansion.weights(of: model, threads: 3) == one)
    }

    @Test func expanderRejectsAModelWhoseDDoesNotFit() throws {
        let model = try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/fc-dense-d100.idz"))
        var broken = model
        broken.projection.dimension = 0
        broken.theta = StoredTheta.encode([], as: .float32)
        #expect(throws: ExpansionError.self) { try ModelExpansion.expander(for: broken) }
    }
}
