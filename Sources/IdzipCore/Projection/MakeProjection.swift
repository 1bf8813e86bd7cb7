/// The projection of `kind` with D = `rowCount` rows and d = `columnCount` columns drawn
/// from `seed`. Requires 1 <= d <= D, and d == D for identity (callers validate sizes
/// read from files first).
///
/// `cachesTables` keeps Fastfood's per-block tables (about 8 D bytes) and the sparse
/// nonzeros (when under 256 MiB) for repeated products, as in training; pass false to
/// expand a model once with O(d + threads L) memory. Either way every product gives the
/// spec's bits (training's float32 dense matrix is IdzipTraining's `trainingProjection`).
public func makeProjection(
    kind: ProjectionKind, rowCount: Int, columnCount: Int, seed: UInt64,
    threads: Int = ParallelLoop.defaultThreads, cachesTables: Bool = true
) -> any Projection {
    precondition(columnCount >= 1 && columnCount <= rowCount, "A projection needs 1 <= d <= D")
    switch kind {
    case .identity:
        return IdentityProjection(rowCount: rowCount, columnCount: columnCount, seed: seed)
    case .dense:
        return DenseProjection(rowCount: rowCount, columnCount: columnCount, seed: seed, threads: threads)
    case .sparse:
        return SparseProjection(
            rowCount: rowCount, columnCount: columnCount, seed: seed, threads: threads,
            cacheLimitBytes: cachesTables ? 1 << 28 : 0)
    case .fastfood:
        return FastfoodProjection(
            rowCount: rowCount, columnCount: columnCount, seed: seed, threads: threads, cachesTables: cachesTables)
    }
}
