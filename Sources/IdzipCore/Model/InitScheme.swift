/// How theta0 initialises one tensor. The raw values are part of the `.idz` format.
///
/// Normal schemes draw `RandomStream(seed: theta0Seed, purpose: .theta0, substream:
/// tensorIndex).normal(k)` for element k, multiply by the standard deviation in float64
/// and round to float32. Uniform schemes use `uniformDouble(k)`.
public enum InitScheme: UInt8, Sendable, Hashable, CaseIterable {
    case zeros = 0
    /// N(0, 2 / fanIn) (He et al. 2015); the authors' he_normal for weights.
    case heNormal = 1
    /// N(0, 1 / fanIn).
    case lecunNormal = 2
    /// U(-limit, limit), limit = sqrt(6 / (fanIn + fanOut)).
    case glorotUniform = 3
    /// N(0, 1).
    case standardNormal = 4
    /// All ones: batch normalisation's weight (PyTorch's initial value). Needs format
    /// version 3 (Formats/idz-v3.md section 3).
    case ones = 5

    /// The name `idzip info` prints, e.g. "he_normal".
    public var name: String {
        switch self {
        case .zeros: "zeros"
        case .heNormal: "he_normal"
        case .lecunNormal: "lecun_normal"
        case .glorotUniform: "glorot_uniform"
        case .standardNormal: "standard_normal"
        case .ones: "ones"
        }
    }
}
