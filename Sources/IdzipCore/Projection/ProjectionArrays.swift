/// Array conveniences over the buffer-based `Projection` requirements.
extension Projection {
    /// P v: all D rows.
    public func project(_ v: [Float]) -> [Float] {
        project(v, rows: 0..<rowCount)
    }

    /// Rows `rows` of P v.
    public func project(_ v: [Float], rows: Range<Int>) -> [Float] {
        var output = [Float](repeating: 0, count: rows.count)
        v.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                project(input, rows: rows, into: output)
            }
        }
        return output
    }

    /// P^T g (d entries).
    public func projectTranspose(_ g: [Float]) -> [Float] {
        var output = [Float](repeating: 0, count: columnCount)
        g.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                projectTranspose(input, into: output)
            }
        }
        return output
    }
}
