/// Everything a `.idz` file holds: enough to regenerate theta = theta0 + P theta_d
/// bit-for-bit, plus what inference and people need (preprocessing, labels, provenance).
///
/// Read and write it with `IdzFile` (Formats/idz-v1.md); expand it with `ModelExpansion`.
public struct IdzModel: Sendable, Equatable {
    /// The network (section 6 of the spec); fixes D and the parameter order.
    public var architecture: Architecture
    /// Seed of theta0, the frozen random initialisation.
    public var theta0Seed: UInt64
    /// The random projection P: kind, seed and d.
    public var projection: ProjectionSpec
    /// theta_d as stored.
    public var theta: StoredTheta
    /// How raw inputs become network inputs (spec section 13); `Predictor` applies it.
    public var preprocessing: Preprocessing
    /// Class names, one per output of the network, or empty.
    public var labels: [String]
    /// Typed provenance, in order, with unique keys.
    public var metadata: [MetadataEntry]
    /// SHA-256 of the expanded theta: D float32 values, little-endian, in parameter order.
    public var weightsSHA256: [UInt8]
    /// The buffers (Formats/idz-v3.md section 5): the running means and variances of the
    /// batch-norm layers, exact float32 values in `Architecture.bufferTensors()` order.
    /// Empty when the architecture has none; else exactly `bufferCount()` values. State,
    /// not subspace coordinates: they are not in theta and not in `weightsSHA256`.
    public var buffers: [Float]
    /// Training batches the running statistics have seen (PyTorch's `num_batches_tracked`,
    /// one count shared by every batch-norm layer); 0 when there are no buffers.
    public var batchesTracked: UInt64
    /// The base a fine-tuned model's theta0 comes from (Formats/idz-v3.md section 6); nil
    /// when theta0 is generated from `theta0Seed`. Set after `init` (format version 3).
    public var base: BaseReference? = nil
    /// Per-tensor modes, SAID scales and direct values (Formats/idz-v3.md section 7); nil
    /// when every tensor is in the subspace with scale 1. Set after `init` (version 3).
    public var tensorModes: TensorModes? = nil

    /// A model from its parts. Nothing is checked here: `IdzFile.encode` checks the parts
    /// fit together (d <= D, labels per output, preprocessing channels) and throws `IdzError`.
    public init(
        architecture: Architecture,
        theta0Seed: UInt64,
        projection: ProjectionSpec,
        theta: StoredTheta,
        preprocessing: Preprocessing = Preprocessing(),
        labels: [String] = [],
        metadata: [MetadataEntry] = [],
        weightsSHA256: [UInt8],
        buffers: [Float] = [],
        batchesTracked: UInt64 = 0
    ) {
        self.architecture = architecture
        self.theta0Seed = theta0Seed
        self.projection = projection
        self.theta = theta
        self.preprocessing = preprocessing
        self.labels = labels
        self.metadata = metadata
        self.weightsSHA256 = weightsSHA256
        self.buffers = buffers
        self.batchesTracked = batchesTracked
    }

    /// Whether only format version 3 can store this model (a version 3 architecture or buffers).
    public var needsVersion3: Bool {
        architecture.needsVersion3 || !buffers.isEmpty || batchesTracked != 0
    }

    /// D, the number of parameters of the architecture (0 if the architecture is invalid;
    /// a decoded model always has a valid one).
    public var parameterCount: Int {
        (try? architecture.parameterCount()) ?? 0
    }
}

/// Which random projection P maps theta_d into the parameters.
public struct ProjectionSpec: Sendable, Equatable {
    /// identity, dense, sparse or fastfood (spec section 10).
    public var kind: ProjectionKind
    /// Seed of P's random streams.
    public var seed: UInt64
    /// d, the subspace dimension (d == D for identity).
    public var dimension: Int

    /// A projection of `kind` drawn from `seed` with d = `dimension` columns.
    public init(kind: ProjectionKind, seed: UInt64, dimension: Int) {
        self.kind = kind
        self.seed = seed
        self.dimension = dimension
    }
}

/// How a raw input becomes the network's input: x = (raw * inputScale - mean[c]) / std[c]
/// in float32, in that order, for channel c (Formats/idz-v1.md section 13). K = 1 shares
/// one mean and std across channels; K = C gives channel c of a [C, H, W] input entry c.
/// `Predictor` applies it to raw inputs (`raw:` arguments).
public struct Preprocessing: Sendable, Equatable {
    /// Multiplies the raw value first (1/255 maps bytes to [0, 1]); finite.
    public var inputScale: Float
    /// K means, subtracted after scaling; finite.
    public var mean: [Float]
    /// K standard deviations, divided by last; finite and > 0.
    public var standardDeviation: [Float]

    /// The default scales bytes to [0, 1] and leaves them there (mean 0, std 1).
    public init(inputScale: Float = 1.0 / 255.0, mean: [Float] = [0], standardDeviation: [Float] = [1]) {
        self.inputScale = inputScale
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Applies the formula in place to consecutive examples of `inputShape` in `buffer`
    /// (a whole number of examples). Requires K = 1 or K = C, as `IdzFile` and `Predictor` check.
    package func apply(to buffer: UnsafeMutableBufferPointer<Float>, inputShape: [Int]) {
        let scale = inputScale
        if mean.count == 1 {
            let mean = self.mean[0], deviation = standardDeviation[0]
            for i in buffer.indices { buffer[i] = (buffer[i] * scale - mean) / deviation }
            return
        }
        let featureCount = inputShape.reduce(1, *)
        let channels = inputShape.count == 3 ? inputShape[0] : 1
        let perChannel = max(1, featureCount / channels)
        for i in buffer.indices {
            let channel = (i % featureCount) / perChannel
            buffer[i] = (buffer[i] * scale - mean[channel]) / standardDeviation[channel]
        }
    }
}
