import Foundation
import IdzipCore
import Testing

/// Timings, run only on request:
/// IDZIP_PROJECTION_BENCHMARK=1 swift test -c release --filter ProjectionBenchmarkTests
@Suite(.serialized) @MainActor struct ProjectionBenchmarkTests {
    nonisolated static let enabled = ProcessInfo.processInfo.environment["IDZIP_PROJECTION_BENCHMARK"] != nil

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// CPU seconds of this thread (insensitive to other load on a shared machine).
    static func threadSeconds(_ body: () -> Void) -> Double {
        var start = timespec()
        var end = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
        body()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
    }

    @Test(.enabled(if: enabled)) func normalsSingleThread() {
        let stream = RandomStream(seed: 3, purpose: .fastfoodGaussian, substream: 0)
        let count = 1 << 20
        var output = [Float](repeating: 0, count: count)
        var sink = 0.0
        let batch = Self.threadSeconds {
            output.withUnsafeMutableBufferPointer { sink += NormalBatch.fillFloatNormals(stream, first: 0, into: $0) }
        }
        let scalar = Self.threadSeconds {
            output.withUnsafeMutableBufferPointer { stream.fillNormals($0, start: 0) }
        }
        let permutation = Self.threadSeconds {
            for substream in 0..<1024 {
                sink += Double(RandomStream(seed: 3, purpose: .fastfoodPermutation, substream: UInt32(substream))
                    .permutation(count: 1024)[5])
            }
        }
        var words = [UInt32](repeating: 0, count: 4 << 19)
        let philox = Self.threadSeconds {
            words.withUnsafeMutableBufferPointer { RandomKernels.blocks(stream, first: 0, into: $0) }
        }
        Self.report("512k Philox blocks, C kernels at \(KernelLevel.inUse) (thread CPU)", philox)
        sink += Double(words[5])
        Self.report("1M normals, C kernels at \(KernelLevel.inUse) (thread CPU)", batch)
        Self.report("1M normals, scalar fillNormals (thread CPU)", scalar)
        Self.report("1024 permutations of 1024, scalar (thread CPU)", permutation)
        #expect(sink.isFinite)
    }

    static func report(_ label: String, _ seconds: Double) {
        print(String(format: "BENCHMARK %@: %.3f ms", label, seconds * 1e3))
    }

    /// Best of `repeats` runs of P v and P^T g: wall time, and CPU time of the calling
    /// thread (all of the work when the projection runs on 1 thread, IDZIP_THREADS=1).
    static func forwardAndTranspose(_ projection: any Projection, repeats: Int, label: String) {
        let v = [Float](repeating: 0.5, count: projection.columnCount)
        let g = [Float](repeating: 0.25, count: projection.rowCount)
        var output = [Float](repeating: 0, count: projection.rowCount)
        var transposed = [Float](repeating: 0, count: projection.columnCount)
        var forwardBest = (wall: Double.infinity, cpu: Double.infinity)
        var transposeBest = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<repeats {
            var wall = 0.0
            var cpu = threadSeconds {
                wall = seconds {
                    v.withUnsafeBufferPointer { v in
                        output.withUnsafeMutableBufferPointer { projection.project(v, rows: 0..<projection.rowCount, into: $0) }
                    }
                }
            }
            forwardBest = (min(forwardBest.wall, wall), min(forwardBest.cpu, cpu))
            cpu = threadSeconds {
                wall = seconds {
                    g.withUnsafeBufferPointer { g in
                        transposed.withUnsafeMutableBufferPointer { projection.projectTranspose(g, into: $0) }
                    }
                }
            }
            transposeBest = (min(transposeBest.wall, wall), min(transposeBest.cpu, cpu))
        }
        report("\(label) forward, wall", forwardBest.wall)
        report("\(label) forward, calling thread CPU", forwardBest.cpu)
        report("\(label) transpose, wall", transposeBest.wall)
        report("\(label) transpose, calling thread CPU", transposeBest.cpu)
    }

    @Test(.enabled(if: enabled)) func walshHadamard() {
        for length in [1024, 16384, 1 << 20] {
            var x = [Float](repeating: 1, count: length)
            let repeats = max(1, (1 << 24) / length)
            let time = Self.threadSeconds {
                x.withUnsafeMutableBufferPointer { x in
                    for _ in 0..<repeats { WalshHadamard.transform(x) }
                }
            }
            Self.report("WHT L=\(length) (thread CPU per transform)", time / Double(repeats))
        }
    }

    @Test(.enabled(if: enabled)) func fastfoodMedium() {
        var projection: FastfoodProjection?
        let build = Self.seconds { projection = FastfoodProjection(rowCount: 1_000_000, columnCount: 10_000, seed: 1) }
        Self.report("fastfood D=1M d=10k build (cached tables)", build)
        if let projection { Self.forwardAndTranspose(projection, repeats: 10, label: "fastfood D=1M d=10k") }
    }

    @Test(.enabled(if: enabled)) func fastfoodLarge() {
        var projection: FastfoodProjection?
        let build = Self.seconds { projection = FastfoodProjection(rowCount: 60_000_000, columnCount: 600_000, seed: 1) }
        Self.report("fastfood D=60M d=600k build (cached tables)", build)
        if let projection { Self.forwardAndTranspose(projection, repeats: 3, label: "fastfood D=60M d=600k") }
    }

    /// A 354M-parameter expansion from d = 1000 without cached tables.
    @Test(.enabled(if: enabled)) func fastfoodExpansion() {
        let rowCount = Int(ProcessInfo.processInfo.environment["IDZIP_BENCHMARK_ROWS"] ?? "") ?? 354_000_000
        let projection = FastfoodProjection(rowCount: rowCount, columnCount: 1000, seed: 1, cachesTables: false)
        let v = [Float](repeating: 0.5, count: 1000)
        var output = [Float](repeating: 0, count: rowCount)
        var wall = 0.0
        let cpu = Self.threadSeconds {
            wall = Self.seconds {
                v.withUnsafeBufferPointer { v in
                    output.withUnsafeMutableBufferPointer { projection.project(v, rows: 0..<rowCount, into: $0) }
                }
            }
        }
        Self.report("fastfood expansion D=\(rowCount) d=1000 uncached, \(projection.threads) threads, wall", wall)
        Self.report("fastfood expansion, calling thread CPU (all of it when 1 thread)", cpu)
    }

    @Test(.enabled(if: enabled)) func sparseAndDense() {
        var sparse: SparseProjection?
        let build = Self.seconds { sparse = SparseProjection(rowCount: 1_000_000, columnCount: 10_000, seed: 1) }
        Self.report("sparse D=1M d=10k build (cached: \(sparse?.cachesNonzeros ?? false))", build)
        if let sparse { Self.forwardAndTranspose(sparse, repeats: 3, label: "sparse D=1M d=10k") }
        let dense = DenseProjection(rowCount: 100_000, columnCount: 100, seed: 1)
        Self.forwardAndTranspose(dense, repeats: 1, label: "dense D=100k d=100")
    }
}
