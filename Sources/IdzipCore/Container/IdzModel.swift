/// Everything a `.idz` file holds: enough to regenerate theta = theta0 + P theta_d
/// bit-for-bit, plus what inference and people need (preprocessing, labels, provenance).
public struct IdzModel: Sendable, Equatable {
    public var architecture: Architecture
    /// Seed of theta0, the frozen random initialisation.
    public var theta0Seed: UInt64
    /// The random projection P: kind, seed and d.
    public var projection: ProjectionSpec
    /// theta_d as stored.
    public var theta: StoredTheta
    public var preprocessing: Preprocessing
    /// Class names, one per output of the network, or empty.
    public var labels: [String]
    /// Typed provenance, in order, with unique keys.
    public var metadata: [MetadataEntry]
    /// SHA-256 of the expanded theta: D float32 values, little-endian, in parameter order.
    public var weightsSHA256: [UInt8]

    public init(
        architecture: Architecture,
        theta0Seed: UInt64,
        projection: ProjectionSpec,
        theta: StoredTheta,
        preprocessing: Preprocessing = Preprocessing(),
        labels: [String] = [],
        metadata: [MetadataEntry] = [],
        weightsSHA256: [UInt8]
    ) {
        self.architecture = architecture
        self.theta0Seed = theta0Seed
        self.projection = projection
        self.theta = theta
        self.preprocessing = preprocessing
        self.labels = labels
        self.metadata = metadata
        self.weightsSHA256 = weightsSHA256
    }

    /// D, the number of parameters of the architecture (0 if the architecture is invalid;
    /// a decoded model always has a valid one).
    public var parameterCount: Int {
        (try? architecture.parameterCount()) ?? 0
    }
}

/// Which random projection P maps theta_d into the parameters.
public struct ProjectionSpec: Sendable, Equatable {
    public var kind: ProjectionKind
    public var seed: UInt64
    /// d, the subspace dimension (d == D for identity).
    public var dimension: Int

    public init(kind: ProjectionKind, seed: UInt64, dimension: Int) {
        self.kind = kind
        self.seed = seed
        self.dimension = dimension
    }
}

/// How a raw input becomes the network's input: x = (raw * inputScale - mean[c]) / std[c]
/// for channel c (one mean and std shared by every channel, or one per channel).
public struct Preprocessing: Sendable, Equatable {
    public var inputScale: Float
    public var mean: [Float]
    public var standardDeviation: [Float]

    public init(inputScale: Float = 1.0 / 255.0, mean: [Float] = [0], standardDeviation: [Float] = [1]) {
        self.inputScale = inputScale
        self.mean = mean
        self.standardDeviation = standardDeviation
    }
}
