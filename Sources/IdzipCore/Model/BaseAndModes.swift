/// Models relative to a pre-trained base, and structure-aware subspaces (Formats/idz-v3.md
/// sections 6 and 7; issue 13).
///
/// A base-relative model's theta0 is a base's weights instead of the seeded random
/// initialisation: theta = theta_base + P theta_d (Li et al. 2018, Sec. 2, with theta0 from
/// a trained model, as Aghajanyan et al. 2021, Sec. 3, fine-tune in a subspace). Per-tensor
/// modes and scales (SAID, Aghajanyan et al. 2021, Sec. 3; direct and frozen tensors as
/// PRANC and Lotfi et al. 2022 keep biases and normalisation parameters) change how each
/// parameter tensor's rows are formed:
///
///     subspace: theta_i = theta0_i + float32(lambda_t * (P theta_d)_i)
///     direct:   theta_i = v_i            (stored in the file)
///     frozen:   theta_i = theta0_i
///
/// P is the same D x d projection as without modes (its rows cover every parameter); the
/// rows of direct and frozen tensors are computed and not used. lambda_t = 1 when the file
/// stores no scales, and float32(1 * x) = x, so that case is bit-identical to version 1.

/// How one parameter tensor is formed (Formats/idz-v3.md section 7).
public enum TensorMode: UInt8, Sendable, Hashable, CaseIterable {
    /// theta0 + lambda (P theta_d) on the tensor's rows.
    case subspace = 0
    /// Trained directly; the file stores its values.
    case direct = 1
    /// theta0, unchanged.
    case frozen = 2

    /// "subspace", "direct" or "frozen".
    public var name: String {
        switch self {
        case .subspace: "subspace"
        case .direct: "direct"
        case .frozen: "frozen"
        }
    }

    /// The mode called `name`, if any.
    public init?(name: String) {
        guard let mode = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = mode
    }
}

/// Per-tensor modes, scales and direct values of a model (section `0x000B`).
public struct TensorModes: Sendable, Equatable {
    /// One mode per parameter tensor, in parameter order.
    public var modes: [TensorMode]
    /// One learned scale lambda_t per subspace tensor, in parameter order (SAID); nil when
    /// the file stores none (every lambda_t is 1).
    public var scales: [Float]?
    /// The values of every direct tensor, concatenated in parameter order (float32).
    public var directValues: [Float]

    /// Modes from their parts; `IdzFile.encode` checks that they fit the architecture.
    public init(modes: [TensorMode], scales: [Float]? = nil, directValues: [Float] = []) {
        self.modes = modes
        self.scales = scales
        self.directValues = directValues
    }

    /// Tensors in subspace mode.
    public var subspaceCount: Int { modes.lazy.filter { $0 == .subspace }.count }

    /// The numbers the file stores beyond theta_d: the scales and the direct values.
    public var storedNumberCount: Int { (scales?.count ?? 0) + directValues.count }

    /// Elements of the direct tensors among `tensors` (what `directValues` must hold).
    public func directCount(tensors: [TensorSpec]) -> Int {
        zip(modes, tensors).reduce(0) { $0 + ($1.0 == .direct ? $1.1.count : 0) }
    }

    /// "subspace 6, direct 4 (70 values), frozen 0, scales 6".
    public var summary: String {
        let direct = modes.lazy.filter { $0 == .direct }.count
        let frozen = modes.lazy.filter { $0 == .frozen }.count
        return "subspace \(subspaceCount), direct \(direct) (\(directValues.count) values), frozen \(frozen)"
            + (scales.map { ", \($0.count) scales" } ?? ", no scales")
    }
}

/// The base a model was fine-tuned from, as the file records it (section `0x000A`): the
/// digest of its tensors and an optional locator. The weights themselves are not stored;
/// `IdzModel.attachBase(_:)` supplies them after checking the digest.
public struct BaseReference: Sendable, Equatable {
    /// SHA-256 of the base's D float32 values, little-endian, in the architecture's
    /// parameter order: the weights digest of the base (Formats/idz-v1.md section 12), so
    /// re-saving the same tensors in another file or order keeps it valid.
    public var sha256: [UInt8]
    /// A name or locator for people (a file name, a URL, "lenet-mnist-v1"); may be empty.
    /// UTF-8, at most 4,096 bytes.
    public var locator: String
    /// The verified weights, when attached; not stored in the file and not compared by ==.
    public var weights: BaseWeights?

    /// A reference to the base with digest `sha256` (32 bytes).
    public init(sha256: [UInt8], locator: String = "", weights: BaseWeights? = nil) {
        self.sha256 = sha256
        self.locator = locator
        self.weights = weights
    }

    /// A reference to `weights`, which it carries.
    public init(weights: BaseWeights, locator: String = "") {
        self.init(sha256: weights.sha256, locator: locator, weights: weights)
    }

    public static func == (lhs: BaseReference, rhs: BaseReference) -> Bool {
        lhs.sha256 == rhs.sha256 && lhs.locator == rhs.locator
    }

    /// "sha256 <hex>" plus the locator in parentheses when there is one.
    public var summary: String {
        "sha256 \(hexString(sha256))" + (locator.isEmpty ? "" : " (\(locator))")
    }
}

/// A base's weights: D float32 values in parameter order and their SHA-256.
public struct BaseWeights: Sendable, Hashable {
    /// theta_base, D values in parameter order.
    public let values: [Float]
    /// SHA-256 of `values` as float32 little-endian.
    public let sha256: [UInt8]

    /// Weights in parameter order; the digest is computed here.
    public init(values: [Float]) {
        self.values = values
        self.sha256 = IdzChecksum.weightsSHA256(values)
    }

    public static func == (lhs: BaseWeights, rhs: BaseWeights) -> Bool { lhs.sha256 == rhs.sha256 }
    public func hash(into hasher: inout Hasher) { hasher.combine(sha256) }
}

/// Why a base-relative model cannot be expanded with the base given (or without one).
public struct BaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line naming the problem (and both digests when they differ).
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension IdzModel {
    /// Attaches the base this model was fine-tuned from, after checking that its digest
    /// is the one the file records and that it has D values.
    /// - Throws: `BaseError` when the model has no base (`requiresBase` is false), when the
    ///   base has another number of values, or when the digests differ (the message names both).
    public mutating func attachBase(_ weights: BaseWeights) throws(BaseError) {
        guard var reference = base else {
            throw BaseError("the model is not fine-tuned from a base (its theta0 is generated from seed \(theta0Seed)); drop --base")
        }
        let count = parameterCount
        guard weights.values.count == count else {
            throw BaseError("the base has \(weights.values.count) parameters, the model's architecture \(count)")
        }
        guard weights.sha256 == reference.sha256 else {
            throw BaseError("wrong base: the model was fine-tuned from sha256 \(hexString(reference.sha256)), the base given has sha256 \(hexString(weights.sha256))")
        }
        reference.weights = weights
        base = reference
    }

    /// True when expanding the model needs its base's weights (`attachBase(_:)`).
    public var requiresBase: Bool { base != nil }
}
