/// Where each tensor's rows sit and how they are formed under `TensorModes`
/// (Formats/idz-v3.md section 7): the per-row formula that `Reparameterization` applies
/// after P theta_d, shared by expansion and training so both give the same bits.
package struct TensorRowPlan: Sendable {
    package struct Segment: Sendable {
        /// The tensor's rows in theta.
        package var rows: Range<Int>
        package var mode: TensorMode
        /// lambda_t (1 without scales); subspace tensors only.
        package var scale: Float
        /// First index of the tensor in `directValues` (direct tensors only).
        package var directOffset: Int
    }

    package let segments: [Segment]
    package let directValues: [Float]
    /// Whether any scale differs from storing none (lambda = 1 is bit-identical to no scale).
    package let hasScales: Bool

    /// - Precondition: `modes` fits `tensors` (one mode per tensor, one scale per subspace
    ///   tensor when scaled, direct values for every direct tensor), as `IdzFile` checks.
    package init(tensors: [TensorSpec], modes: TensorModes) {
        precondition(modes.modes.count == tensors.count, "one mode per tensor")
        var segments: [Segment] = []
        var scaleIndex = 0
        var directOffset = 0
        for (tensor, mode) in zip(tensors, modes.modes) {
            var scale: Float = 1
            if mode == .subspace, let scales = modes.scales {
                scale = scales[scaleIndex]
                scaleIndex += 1
            }
            segments.append(Segment(rows: tensor.range, mode: mode, scale: scale, directOffset: directOffset))
            if mode == .direct { directOffset += tensor.count }
        }
        precondition(directOffset == modes.directValues.count, "direct values must cover the direct tensors")
        self.segments = segments
        self.directValues = modes.directValues
        self.hasScales = modes.scales != nil
    }

    /// Turns P theta_d into theta for rows `first + local` (local in `range`): `theta[l]`
    /// holds (P theta_d)_{first + l} on entry and theta_{first + l} on return; `theta0[l]`
    /// is theta0_{first + l}.
    package func combine(
        theta: UnsafeMutableBufferPointer<Float>, theta0: UnsafePointer<Float>, first: Int, range: Range<Int>
    ) {
        let wanted = (first + range.lowerBound)..<(first + range.upperBound)
        // Segments are sorted by rows: find the first one that ends after the range starts.
        var low = 0, high = segments.count
        while low < high {
            let middle = (low + high) / 2
            if segments[middle].rows.upperBound <= wanted.lowerBound { low = middle + 1 } else { high = middle }
        }
        directValues.withUnsafeBufferPointer { direct in
            var index = low
            while index < segments.count, segments[index].rows.lowerBound < wanted.upperBound {
                let segment = segments[index]
                let rows = segment.rows.clamped(to: wanted)
                switch segment.mode {
                case .subspace:
                    let scale = segment.scale
                    if hasScales {
                        for i in rows { theta[i - first] = theta0[i - first] + scale * theta[i - first] }
                    } else {
                        for i in rows { theta[i - first] += theta0[i - first] }
                    }
                case .direct:
                    let shift = segment.directOffset - segment.rows.lowerBound
                    for i in rows { theta[i - first] = direct[i + shift] }
                case .frozen:
                    for i in rows { theta[i - first] = theta0[i - first] }
                }
                index += 1
            }
        }
    }
}
