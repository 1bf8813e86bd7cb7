import CIdzipKernels
import Foundation
import IdzipCore

/// This machine's ceilings, measured once by `idzip bench`: the rates that bound every
/// figure from below (a roofline: Williams, Waterman, Patterson, "Roofline: an insightful
/// visual performance model for multicore architectures", CACM 2009).
///
/// Each rate is the best of a few runs (like STREAM), so bounds computed from them are
/// optimistic: a figure cannot beat them on this machine.
public struct MachineCeilings: Sendable, Equatable {
    /// STREAM copy, bytes read plus written per second / 1e9, on `threads` threads.
    public var copyGBPerSecond: Double
    /// STREAM triad (a = b + s c), bytes read plus written per second / 1e9.
    public var triadGBPerSecond: Double
    /// OpenBLAS sgemm (n x n by n x n, 2 n^3 flops), GFLOP/s on `threads` threads.
    public var sgemmGFLOPPerSecond: Double
    /// SHA-256 (the weights digest, Formats/idz-v1.md section 11), GB hashed per second,
    /// one thread (the digest is serial).
    public var sha256GBPerSecond: Double
    /// Philox4x32-10 plus Box-Muller float normals (idz_fill_float_normal_pairs, the kernels
    /// of expansion and of the Fastfood tables) per second on `threads` threads.
    public var normalsPerSecond: Double
    public var threads: Int

    /// The streaming memory rate the bounds use: the better of copy and triad.
    public var memoryGBPerSecond: Double { max(copyGBPerSecond, triadGBPerSecond) }

    /// Measures the ceilings; `quick` uses small sizes (for tests: the rates are then cache rates).
    public static func measure(threads: Int, quick: Bool = false) -> MachineCeilings {
        let threads = max(1, threads)
        let runs = quick ? 2 : 5
        // STREAM: arrays well beyond the last-level cache (128 MiB each; quick: 1 MiB).
        let count = quick ? 1 << 18 : 1 << 25
        let pa = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let pb = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let pc = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { pa.deallocate(); pb.deallocate(); pc.deallocate() }
        // First touch from the threads that use each piece.
        func pieces(_ body: (Int, Int) -> Void) {
            let pieceLength = (count + threads - 1) / threads
            ParallelLoop.forEach(pieces: threads, threads: threads) { piece in
                let start = piece * pieceLength
                body(start, max(0, min(count, start + pieceLength) - start))
            }
        }
        pieces { start, length in
            (pa + start).initialize(repeating: 1, count: length)
            (pb + start).initialize(repeating: 2, count: length)
            (pc + start).initialize(repeating: 0.5, count: length)
        }
        let copy = best(runs) { pieces { start, length in idz_stream_copy(pc + start, pa + start, length) } }
        let triad = best(runs) { pieces { start, length in idz_stream_triad(pa + start, pb + start, pc + start, 3, length) } }

        // sgemm through OpenBLAS, the library training's layers call.
        let n = quick ? 256 : 1024
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let z = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        defer { x.deallocate(); y.deallocate(); z.deallocate() }
        x.initialize(repeating: 0.5, count: n * n)
        y.initialize(repeating: 0.25, count: n * n)
        Gemm.setThreadCount(threads)
        let gemm = best(runs) {
            Gemm.multiply(
                transposeA: false, transposeB: false, m: n, n: n, k: n, a: x, lda: n, b: y, ldb: n, beta: 0, c: z, ldc: n)
        }

        // SHA-256 of float32 weights, as expansion verifies them.
        let hashCount = quick ? 1 << 20 : 1 << 24
        let hashed = UnsafeBufferPointer(start: pb, count: min(count, hashCount))
        let sha = best(max(2, runs / 2)) {
            var hasher = IdzChecksum.WeightsHasher()
            hasher.update(hashed)
            _ = hasher.finalize()
        }

        // Philox + Box-Muller normals (2 per block), parallel over pieces of 2^16 blocks.
        let normalBlocks = count / 2
        let normalPiece = 1 << 16
        let normals = best(runs) {
            ParallelLoop.forEach(pieces: (normalBlocks + normalPiece - 1) / normalPiece, threads: threads) { piece in
                let first = piece * normalPiece
                let blocks = min(normalBlocks, first + normalPiece) - first
                idz_fill_float_normal_pairs(1, 0, 1, UInt64(first), blocks, 1, pa + 2 * first, nil)
            }
        }
        return MachineCeilings(
            copyGBPerSecond: Double(8 * count) / copy / 1e9,
            triadGBPerSecond: Double(12 * count) / triad / 1e9,
            sgemmGFLOPPerSecond: 2 * Double(n) * Double(n) * Double(n) / gemm / 1e9,
            sha256GBPerSecond: Double(hashed.count * 4) / sha / 1e9,
            normalsPerSecond: Double(2 * normalBlocks) / normals,
            threads: threads)
    }

    /// The shortest of `runs` timed runs of `body`, in seconds.
    static func best(_ runs: Int, _ body: () -> Void) -> Double {
        var shortest = Double.infinity
        for _ in 0..<max(1, runs) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            shortest = min(shortest, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return max(shortest, 1e-9)
    }
}

/// A figure's lower bound from the ceilings: the largest of its costs, each its work
/// divided by the matching ceiling (memory bytes / bandwidth, flops / sgemm rate, ...).
public struct RooflineBound: Sendable, Equatable {
    public var seconds: Double
    /// The ceiling that gives the bound: "memory", "sgemm", "sha256" or "normals".
    public var boundBy: String
    /// The figure's cost model, in words.
    public var model: String

    /// The largest of `costs` (seconds, ceiling name), with `model` as its description.
    init(_ costs: [(Double, String)], model: String) {
        let largest = costs.max { $0.0 < $1.0 }!
        seconds = largest.0
        boundBy = largest.1
        self.model = model
    }

    /// One `P v` plus one `P^T g` of a `kind` projection, D x d, with its tables cached as
    /// `trainingProjection` builds them:
    /// - dense: the binary16 matrix read twice (4 D d bytes), 4 D d flops;
    /// - sparse: the row-compressed nonzeros (4 bytes each, about d sqrt(D)) and row offsets
    ///   (4 D bytes) read twice, plus the D-float output written and the D-float input read
    ///   (8 D bytes), 4 d sqrt(D) flops;
    /// - Fastfood: the tables (8 D bytes) read twice, the D-float output written and input
    ///   read (8 D bytes), and the transforms: 2 Walsh-Hadamard transforms per block and
    ///   product, L log2 L additions each (4 D log2 L flops over both products).
    public static func projection(kind: ProjectionKind, D: Int, d: Int, ceilings: MachineCeilings) -> RooflineBound {
        let memory = ceilings.memoryGBPerSecond * 1e9
        let flops = ceilings.sgemmGFLOPPerSecond * 1e9
        let D = Double(D), d = Double(d)
        switch kind {
        case .dense:
            return RooflineBound([(4 * D * d / memory, "memory"), (4 * D * d / flops, "sgemm")],
                model: "binary16 P read twice (4 D d bytes); 4 D d flops")
        case .sparse:
            let nonzeros = d * D.squareRoot()
            return RooflineBound([((8 * nonzeros + 16 * D) / memory, "memory"), (4 * nonzeros / flops, "sgemm")],
                model: "4-byte nonzeros (d sqrt(D)) and 4 D bytes of row offsets read twice + 8 D bytes of vectors; 4 d sqrt(D) flops")
        case .fastfood, .identity:
            let L = Double(FastfoodProjection.blockLength(columnCount: Int(d)))
            let blocks = (D / L).rounded(.up)
            return RooflineBound([(24 * D / memory, "memory"), (4 * blocks * L * log2(max(L, 2)) / flops, "sgemm")],
                model: "8 D bytes of tables read twice + 8 D bytes of vectors; 4 D log2 L flops")
        }
    }

    /// One epoch of `steps` steps of `batch` examples: 6 flops per multiply-add of the
    /// network's dense and convolution layers and example (2 forward, 4 backward) at the
    /// sgemm rate, plus, in a subspace, one projection product pair per step.
    public static func training(
        architecture: Architecture, projection: (kind: ProjectionKind, d: Int)?, steps: Int, batch: Int,
        ceilings: MachineCeilings
    ) throws -> RooflineBound {
        let macs = Double(try multiplyAdds(architecture))
        let network = 6 * macs * Double(batch) * Double(steps) / (ceilings.sgemmGFLOPPerSecond * 1e9)
        guard let projection else {
            return RooflineBound([(network, "sgemm")], model: "6 flops per multiply-add per example at the sgemm rate")
        }
        let D = try architecture.parameterCount()
        let step = Self.projection(kind: projection.kind, D: D, d: projection.d, ceilings: ceilings)
        return RooflineBound([(network + Double(steps) * step.seconds, network >= Double(steps) * step.seconds ? "sgemm" : step.boundBy)],
            model: "the direct network's bound + one projection fwd+bwd bound per step")
    }

    /// Expanding D parameters of a Fastfood model: SHA-256 of the 4 D bytes (serial), about
    /// 2 D normals (theta0 and the Gaussian tables) at the normals rate, and 4 D bytes
    /// written; the largest of the three.
    public static func expansion(D: Int, ceilings: MachineCeilings) -> RooflineBound {
        let D = Double(D)
        return RooflineBound(
            [(4 * D / (ceilings.sha256GBPerSecond * 1e9), "sha256"), (2 * D / ceilings.normalsPerSecond, "normals"),
             (4 * D / (ceilings.memoryGBPerSecond * 1e9), "memory")],
            model: "max(SHA-256 of 4 D bytes, 2 D normals, 4 D bytes written)")
    }

    /// Multiply-adds of one forward pass of one example through the dense and convolution layers.
    public static func multiplyAdds(_ architecture: Architecture) throws -> Int {
        let shapes = try architecture.layerShapes()
        var total = 0
        for (index, layer) in architecture.layers.enumerated() {
            let input = shapes.inputs[index], output = shapes.outputs[index]
            switch layer {
            case .dense(let units): total += input.reduce(1, *) * units
            case .conv2d, .convolution:
                let c = layer.convolutionParameters!
                total += output.reduce(1, *) * (input.first ?? 1) / c.groups * c.kernel * c.kernel
            default: break
            }
        }
        return total
    }
}
