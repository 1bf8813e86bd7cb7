/// P = I (d = D): the subspace is the whole parameter space.
package struct IdentityProjection: Projection {
    public var kind: ProjectionKind { .identity }
    public let rowCount: Int
    public var columnCount: Int { rowCount }

    /// `columnCount` must equal `rowCount`; `seed` is accepted for a uniform signature and
    /// not used.
    public init(rowCount: Int, columnCount: Int, seed: UInt64 = 0) {
        precondition(rowCount >= 1 && columnCount == rowCount, "Identity projection needs d == D")
        self.rowCount = rowCount
    }

    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == rowCount && output.count == rows.count, "Identity project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Identity project: rows out of range")
        guard let source = v.baseAddress, let destination = output.baseAddress, !rows.isEmpty else { return }
        destination.update(from: source + rows.lowerBound, count: rows.count)
    }

    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(g.count == rowCount && output.count == rowCount, "Identity projectTranspose: wrong sizes")
        guard let source = g.baseAddress, let destination = output.baseAddress else { return }
        destination.update(from: source, count: rowCount)
    }
}
