import CIdzipKernels
import IdzipCore

/// A projection held as a matrix M (row-major, D x d), for training, where P is applied
/// at every step. Two storages (`Storage`):
/// - `.float32`: M_ij is entry (i, j) of the wrapped projection rounded to float32 (dense:
///   Float(z_ij * (1 / n_j)), the Gaussian entries with their columns scaled to unit length;
///   other kinds: row i of P e_j as the wrapped projection computes it); 4 D d bytes.
/// - `.float16` (dense only; what training uses): M_ij is the raw Gaussian z_ij rounded to
///   IEEE binary16 (to nearest, ties to even; |z| is far inside its range), and the column
///   scale 1 / n_j is kept apart in Double and applied to the d-vector side of each product
///   (forward: to v before the sum; transpose: to each column's sum). 2 D d bytes, half the
///   memory traffic of float32 for about 11 significant bits per entry.
///
/// Products read M instead of regenerating P. They accumulate in float32 (the dense
/// kernels of CIdzipKernels, the same operations on every level; binary16 entries are
/// widened exactly) in a fixed order over pieces whose bounds do not depend on the thread
/// count, so results are deterministic and the same for any thread count, but they are not
/// the bits of Formats/idz-v1-projections.md: expansion never uses this cache.
public final class MaterializedProjection: Projection, @unchecked Sendable {
    /// How M's entries are stored.
    public enum Storage: Sendable, Equatable {
        /// Float32 entries of P.
        case float32
        /// Binary16 raw Gaussians z_ij with the column scales 1 / n_j apart (dense only).
        case float16

        /// Bytes per entry.
        public var bytesPerEntry: Int { self == .float32 ? 4 : 2 }
    }

    /// The exact projection M was built from.
    public let wrapped: any Projection
    public var kind: ProjectionKind { wrapped.kind }
    public let rowCount: Int
    public let columnCount: Int
    public let threads: Int
    public let storage: Storage
    /// Immutable after `init`: the float32 entries (`.float32`), else empty.
    private let matrix: UnsafeMutableBufferPointer<Float>
    /// Immutable after `init`: the binary16 bits of z_ij (`.float16`), else empty.
    private let halves: UnsafeMutableBufferPointer<UInt16>
    /// 1 / n_j in Double (`.float16`), else empty.
    private let columnScales: [Double]

    /// The largest matrix `trainingProjection` materialises: 2 GiB of entries (in its
    /// `trainingStorage`, binary16: D d <= 2^30, e.g. D = 200k with d = 5,000, or D = 1M
    /// with d = 1,000).
    public static let trainingLimitBytes = 1 << 31
    /// The storage `trainingProjection` uses for a dense P.
    public static let trainingStorage = Storage.float16

    /// Rows per parallel piece of the forward product and of building.
    static let rowPieceLength = 64
    /// Rows per piece of the transposed product.
    static let transposePieceLength = 2048

    /// Bytes of the matrix of a D x d projection in `storage` (4 D d for float32, 2 D d for
    /// float16; Int.max on overflow).
    public static func byteCount(rowCount: Int, columnCount: Int, storage: Storage = .float32) -> Int {
        let (product, overflow) = rowCount.multipliedReportingOverflow(by: columnCount)
        let bytes = storage.bytesPerEntry
        return overflow || product > Int.max / bytes ? Int.max : product * bytes
    }

    /// Builds M in binary16 from a dense projection's Gaussians z_ij (2 D d bytes), in
    /// parallel over fixed row pieces; the column scales 1 / n_j are the projection's.
    package init(halvesOf dense: DenseProjection, threads: Int = ParallelLoop.defaultThreads) {
        wrapped = dense
        let D = dense.rowCount
        let d = dense.columnCount
        rowCount = D
        columnCount = d
        self.threads = max(1, threads)
        storage = .float16
        matrix = .allocate(capacity: 0)
        halves = .allocate(capacity: max(1, D * d))
        columnScales = dense.columnNorms.map { 1 / $0 }
        let halves = self.halves
        let pieces = (D + Self.rowPieceLength - 1) / Self.rowPieceLength
        ParallelLoop.forEach(pieces: pieces, threads: self.threads) { piece in
            let start = piece * Self.rowPieceLength
            let end = min(D, start + Self.rowPieceLength)
            let normals = UnsafeMutableBufferPointer<Double>.allocate(capacity: d)
            defer { normals.deallocate() }
            for i in start..<end {
                dense.fillNormalRow(i, into: normals)
                let row = halves.baseAddress! + i * d
                for j in 0..<d { row[j] = Self.binary16Bits(normals[j]) }
            }
        }
    }

    /// The IEEE binary16 bits of `x` rounded to nearest, ties to even (exact arithmetic on
    /// Doubles: scaling by powers of two and one rounding); +-65504 beyond the largest finite
    /// value, which a Gaussian entry never reaches.
    public static func binary16Bits(_ x: Double) -> UInt16 {
        let sign: UInt16 = x.sign == .minus ? 0x8000 : 0
        let a = abs(x)
        guard a.isFinite, a < 65520 else { return sign | 0x7BFF }
        if a < 0x1p-14 {
            // Subnormal (or the smallest normal after rounding up): a multiple of 2^-24.
            return sign | UInt16((a * 0x1p24).rounded(.toNearestOrEven))
        }
        var exponent = Int(a.exponent)
        var fraction = (a * Double(sign: .plus, exponent: 10 - exponent, significand: 1)).rounded(.toNearestOrEven)
        if fraction == 2048 {
            exponent += 1
            fraction = 1024
        }
        if exponent > 15 { return sign | 0x7BFF }
        return sign | UInt16(exponent + 15) << 10 | UInt16(Int(fraction) - 1024)
    }

    /// Builds M from `projection`'s entries (4 D d bytes).
    public init(wrapping projection: any Projection, threads: Int = ParallelLoop.defaultThreads) {
        wrapped = projection
        let D = projection.rowCount
        let d = projection.columnCount
        rowCount = D
        columnCount = d
        self.threads = max(1, threads)
        storage = .float32
        halves = .allocate(capacity: 0)
        columnScales = []
        matrix = .allocate(capacity: max(1, D * d))
        let matrix = self.matrix
        if let rows = projection as? any EntryRowsProjection {
            let pieces = (D + Self.rowPieceLength - 1) / Self.rowPieceLength
            ParallelLoop.forEach(pieces: pieces, threads: self.threads) { piece in
                let start = piece * Self.rowPieceLength
                let end = min(D, start + Self.rowPieceLength)
                rows.fillEntryRows(
                    start..<end, into: UnsafeMutableBufferPointer(start: matrix.baseAddress! + start * d, count: (end - start) * d))
            }
        } else {
            // Column j is P e_j.
            var unit = [Float](repeating: 0, count: d)
            var column = [Float](repeating: 0, count: D)
            for j in 0..<d {
                unit[j] = 1
                unit.withUnsafeBufferPointer { unit in
                    column.withUnsafeMutableBufferPointer { projection.project(unit, rows: 0..<D, into: $0) }
                }
                unit[j] = 0
                for i in 0..<D { matrix[i * d + j] = column[i] }
            }
        }
    }

    deinit {
        matrix.deallocate()
        halves.deallocate()
    }

    /// Rows `rows` of M v in float32: each row's sum over j of M_ij v_j (32 lanes of j mod
    /// 32 in ascending j, the lanes added pairwise, then the remainder in ascending j; see
    /// idz_dense_project_rows), so each row's result depends only on that row and v.
    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        project(v, rows: rows, into: output, level: nil)
    }

    /// `project` with the dense kernels of `level` (nil: the level in use), for tests.
    package func project(
        _ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>, level: KernelLevel?
    ) {
        precondition(v.count == columnCount && output.count == rows.count, "Materialized project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Materialized project: rows out of range")
        let d = columnCount
        guard d > 0 else {
            for i in 0..<rows.count { output[i] = 0 }
            return
        }
        let matrix = UnsafeBufferPointer(self.matrix), halves = UnsafeBufferPointer(self.halves)
        let kernelLevel = level?.rawValue ?? idz_kernels_level()
        let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
        let storage = self.storage
        // Float16: the scales go to v, w_j = Float(Double(v_j) * (1 / n_j)).
        let weights = UnsafeMutableBufferPointer<Float>.allocate(capacity: storage == .float16 ? d : 0)
        defer { weights.deallocate() }
        if storage == .float16 {
            for j in 0..<d { weights[j] = Float(Double(v[j]) * columnScales[j]) }
        }
        let w = UnsafeBufferPointer(weights)
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let start = rows.lowerBound + piece * Self.rowPieceLength
            let count = min(rows.upperBound, start + Self.rowPieceLength) - start
            switch storage {
            case .float32:
                idz_dense_project_rows_at_level(
                    kernelLevel, matrix.baseAddress! + start * d, d, count, v.baseAddress!,
                    output.baseAddress! + (start - rows.lowerBound))
            case .float16:
                idz_dense_project_half_rows_at_level(
                    kernelLevel, halves.baseAddress! + start * d, d, count, w.baseAddress!,
                    output.baseAddress! + (start - rows.lowerBound))
            }
        }
    }

    /// M^T g: column j is, in Double, the sum over fixed pieces of `transposePieceLength`
    /// rows (in ascending order) of each piece's float32 sum over ascending i of M_ij g_i,
    /// rounded to float. Pieces read whole rows, so the matrix streams from memory in order.
    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        projectTranspose(g, into: output, level: nil)
    }

    /// `projectTranspose` with the dense kernels of `level` (nil: the level in use), for tests.
    package func projectTranspose(
        _ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>, level: KernelLevel?
    ) {
        precondition(g.count == rowCount && output.count == columnCount, "Materialized projectTranspose: wrong sizes")
        let d = columnCount
        let D = rowCount
        guard d > 0 else { return }
        let pieceLength = Self.transposePieceLength
        let pieces = (D + pieceLength - 1) / pieceLength
        let partials = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, pieces * d))
        defer { partials.deallocate() }
        partials.initialize(repeating: 0)
        let matrix = UnsafeBufferPointer(self.matrix), halves = UnsafeBufferPointer(self.halves)
        let kernelLevel = level?.rawValue ?? idz_kernels_level()
        let storage = self.storage
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let rows = (piece * pieceLength)..<min(D, (piece + 1) * pieceLength)
            switch storage {
            case .float32:
                idz_dense_accumulate_rows_at_level(
                    kernelLevel, matrix.baseAddress! + rows.lowerBound * d, d, rows.count, g.baseAddress! + rows.lowerBound,
                    partials.baseAddress! + piece * d)
            case .float16:
                idz_dense_accumulate_half_rows_at_level(
                    kernelLevel, halves.baseAddress! + rows.lowerBound * d, d, rows.count, g.baseAddress! + rows.lowerBound,
                    partials.baseAddress! + piece * d)
            }
        }
        var total = [Double](repeating: 0, count: d)
        for piece in 0..<pieces {
            let partial = partials.baseAddress! + piece * d
            for j in 0..<d { total[j] += Double(partial[j]) }
        }
        switch storage {
        case .float32: for j in 0..<d { output[j] = Float(total[j]) }
        case .float16: for j in 0..<d { output[j] = Float(total[j] * columnScales[j]) }
        }
    }
}

/// The projection training uses: `makeProjection`'s (tables cached), except that a dense
/// projection whose binary16 matrix fits `MaterializedProjection.trainingLimitBytes`
/// (2 D d <= 2 GiB) is materialised (`MaterializedProjection`, `.float16`), and a sparse projection
/// whose nonzeros are cached is copied row-compressed (`SparseRowsProjection`). Both
/// caches' products are deterministic and the same for any thread count but not the
/// spec's bits, which only expansion needs.
public func trainingProjection(
    kind: ProjectionKind, rowCount: Int, columnCount: Int, seed: UInt64, threads: Int = ParallelLoop.defaultThreads
) -> any Projection {
    let exact = makeProjection(kind: kind, rowCount: rowCount, columnCount: columnCount, seed: seed, threads: threads)
    if kind == .sparse, let sparse = exact as? SparseProjection, let rows = SparseRowsProjection(wrapping: sparse, threads: threads) {
        return rows
    }
    guard kind == .dense, let dense = exact as? DenseProjection,
        MaterializedProjection.byteCount(rowCount: rowCount, columnCount: columnCount, storage: MaterializedProjection.trainingStorage)
            <= MaterializedProjection.trainingLimitBytes
    else { return exact }
    return MaterializedProjection(halvesOf: dense, threads: threads)
}
