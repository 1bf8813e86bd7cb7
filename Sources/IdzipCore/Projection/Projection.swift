/// The kind of random projection P (D x d). Raw values are part of the `.idz` format.
public enum ProjectionKind: UInt8, Sendable, Hashable, CaseIterable {
    /// P = I (d = D): direct training, theta = theta0 + theta_d.
    case identity = 0
    /// Gaussian entries, columns normalised to unit length.
    case dense = 1
    /// Very sparse random projection (Li, Hastie, Church 2006), density 1/sqrt(D),
    /// columns normalised to unit length.
    case sparse = 2
    /// Stacked Fastfood blocks H G Pi H B (Le, Sarlos, Smola 2013; paper Sec. S7).
    case fastfood = 3

    public var name: String {
        switch self {
        case .identity: "identity"
        case .dense: "dense"
        case .sparse: "sparse"
        case .fastfood: "fastfood"
        }
    }

    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }
}

/// A frozen random linear map P from the subspace (d) to the parameters (D).
///
/// No implementation holds a D x d array: entries are regenerated from Philox by position,
/// or (Fastfood) the map is applied as a fast transform.
public protocol Projection: Sendable {
    var kind: ProjectionKind { get }
    /// D, the number of rows.
    var rowCount: Int { get }
    /// d, the number of columns.
    var columnCount: Int { get }

    /// Writes rows `rows` of P v into `output` (output.count == rows.count), each rounded
    /// to float32, bit-exactly as Formats/idz-v1.md defines. `v` has d entries.
    func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>)

    /// Writes P^T g (d entries) into `output`; `g` has D entries. Used for training; the
    /// result does not depend on the number of threads.
    func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>)

    /// Row ranges that start and end on multiples of this are cheapest to `project`
    /// (Fastfood: its block length; sparse: its chunk length).
    var rowAlignment: Int { get }
}

extension Projection {
    public var rowAlignment: Int { 1 }
}

/// A projection that adds a base vector (theta0) to P v as it writes each row, in the same
/// pass, instead of a second pass over D floats after `project` (Reparameterization uses
/// it). The bits are those of `project` followed by the addition: every row is
/// Float((P v)_i) + base_i, rounded once more.
package protocol BaseAddingProjection: Projection {
    /// output[i] = (P v)_(rows.lowerBound + i) + base[i] for every row in `rows`, where
    /// (P v)_i is exactly what `project` writes (float32), then one float32 addition.
    /// `v`: d floats; `base` and `output`: rows.count floats each (they may not overlap).
    func project(
        _ v: UnsafeBufferPointer<Float>, rows: Range<Int>, adding base: UnsafePointer<Float>,
        into output: UnsafeMutableBufferPointer<Float>)
}

/// A projection that can write rows of P as float32 entries, for a materialised copy
/// (IdzipTraining's `MaterializedProjection`; products with such a copy are not the
/// spec's bits). Each entry is exactly defined by the projection's kind (dense:
/// Float(z_ij * (1 / n_j))).
package protocol EntryRowsProjection: Projection {
    /// Rows `rows` of P into `output` (rows.count * columnCount floats), row-major.
    func fillEntryRows(_ rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>)
}
