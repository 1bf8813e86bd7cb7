import IdzipCore

/// How the codebook of theta_d is learned (issue 11; `docs/compression.md` measures them).
public enum QuantizationMethod: String, Sendable, Hashable, CaseIterable, Codable {
    /// Post-training k-means: train theta_d in float32, then replace it by a k-means codebook
    /// once, after the last epoch (the baseline the other two are measured against).
    case postTraining = "post"
    /// Fine-tuned codebook (Han et al. 2016, "Deep Compression", Sec. 3.3, with moving
    /// assignments): after the warm-up epochs, k-means; then every batch runs the network at
    /// the quantised theta_d and the K levels take an Adam step along the summed gradient of
    /// their coordinates; each coordinate keeps a float latent that moves with its level and
    /// takes the straight-through step, and takes the level nearest its latent.
    case fineTuned = "fine-tuned"
    /// Quantisation-aware training with a straight-through estimator (Bengio et al. 2013;
    /// Courbariaux et al. 2015): after the warm-up epochs, k-means fixes the levels; then
    /// every batch runs the network at the quantised theta_d, the float latent takes the
    /// gradient as if quantisation were the identity, and each coordinate is re-assigned to
    /// the level nearest its latent at once.
    case ste

    /// "post-training k-means", ...
    public var title: String {
        switch self {
        case .postTraining: "post-training k-means"
        case .fineTuned: "fine-tuned codebook"
        case .ste: "quantisation-aware (STE)"
        }
    }
}

/// A codebook learned with the model: K levels, the method, and how many epochs train
/// theta_d in float32 first (theta_d starts at zero, where k-means has nothing to fit).
public struct QuantizationSettings: Sendable, Hashable, Codable {
    /// K (`levelRange`).
    public var levels: Int
    public var method: QuantizationMethod
    /// Epochs trained in float32 before the codebook is fitted (ignored by `postTraining`,
    /// which fits it after the last epoch). nil: half of the epochs, rounded up.
    public var warmupEpochs: Int?
    /// The levels' Adam learning rate as a fraction of the run's (fine-tuned method).
    public var levelRateFactor: Float

    /// K: 1 to the format's largest codebook.
    public static let levelRange = 1...StoredTheta.maxCodebookLevels

    public init(levels: Int, method: QuantizationMethod, warmupEpochs: Int? = nil, levelRateFactor: Float = 0.02) {
        self.levels = levels
        self.method = method
        self.warmupEpochs = warmupEpochs
        self.levelRateFactor = levelRateFactor
    }

    /// The epoch count (1-based) after which the codebook is fitted, of `totalEpochs`.
    public func fitEpoch(totalEpochs: Int) -> Int {
        switch method {
        case .postTraining: totalEpochs
        case .fineTuned, .ste: min(totalEpochs, max(1, warmupEpochs ?? (totalEpochs + 1) / 2))
        }
    }

    /// "codebook=16 ste warmup=half" as reports and fingerprints record it.
    public var summary: String {
        "codebook=\(levels) \(method.rawValue)" + (method == .postTraining ? "" : " warmup=\(warmupEpochs.map(String.init) ?? "half")")
            + (method == .fineTuned ? " level-lr=\(levelRateFactor)" : "")
    }

    public func validate() throws(TrainingError) {
        guard Self.levelRange.contains(levels) else {
            throw .configuration("the codebook needs between \(Self.levelRange.lowerBound) and \(Self.levelRange.upperBound) levels, got \(levels)")
        }
        if let warmupEpochs, warmupEpochs < 1 { throw .configuration("warm-up epochs must be at least 1, got \(warmupEpochs)") }
        guard levelRateFactor > 0, levelRateFactor.isFinite else {
            throw .configuration("the level learning-rate factor must be positive, got \(levelRateFactor)")
        }
    }
}

/// The state of a codebook during training (`Trainer.quantizer`): the latent float theta_d
/// is the trainer's parameter vector; this holds the levels, the assignments and the
/// quantised theta_d the network runs at once active.
///
/// Deterministic: every step is element-wise or a sequential float64 sum, independent of
/// the thread count.
public final class CodebookQuantizer {
    public let settings: QuantizationSettings
    /// Rounds a level to the precision the file stores it in (identity for float32).
    public let storeLevel: @Sendable (Float) -> Float
    /// nil until the codebook is fitted.
    public private(set) var codebook: Codebook?
    /// levels[symbols], d numbers; empty until fitted.
    public private(set) var quantized: [Float] = []
    private var levelState: OptimizerState
    private let levelRule: any UpdateRule

    public init(settings: QuantizationSettings, optimizer: OptimizerKind, storeLevel: @escaping @Sendable (Float) -> Float = { $0 }) {
        self.settings = settings
        self.storeLevel = storeLevel
        levelRule = optimizer.rule
        levelState = OptimizerState(rule: levelRule, parameterCount: settings.levels)
    }

    public var isActive: Bool { codebook != nil }

    /// A level rounded to the nearest float16 (ties to even), within float16's range: a
    /// `.idz` codebook stores levels that are all exact float16 values in 2 bytes each.
    public static let float16Level: @Sendable (Float) -> Float = { value in
        HalfFloat.float(fromBits: HalfFloat.bits(from: min(max(value, -65504), 65504)))
    }

    /// Fits the codebook to `latent` by k-means and refreshes the quantised values.
    func fit(_ latent: [Float]) {
        var fitted = KMeans(levels: settings.levels).fit(latent)
        fitted.levels = fitted.levels.map(storeLevel).sorted()
        fitted.symbols = Codebook.assign(latent, to: fitted.levels)
        set(fitted)
    }

    private func set(_ codebook: Codebook) {
        self.codebook = codebook
        quantized = codebook.values
    }

    /// After a batch's straight-through update of `latent`, with `gradient` (dL/dtheta_d at
    /// the quantised point) and the batch's learning rate.
    func batchDone(latent: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>, learningRate: Float) {
        guard var codebook else { return }
        switch settings.method {
        case .postTraining:
            return
        case .ste:
            codebook.levels.withUnsafeBufferPointer { levels in
                for i in 0..<latent.count { codebook.symbols[i] = UInt16(Codebook.nearest(latent[i], in: levels)) }
            }
            set(codebook)
        case .fineTuned:
            // dL/dlevel_k = sum of dL/dtheta_d[i] over the coordinates i using level k.
            var sums = [Double](repeating: 0, count: codebook.levels.count)
            for i in 0..<gradient.count { sums[Int(codebook.symbols[i])] += Double(gradient[i]) }
            let levelGradient = sums.map(Float.init)
            var levels = codebook.levels
            levels.withUnsafeMutableBufferPointer { levels in
                levelGradient.withUnsafeBufferPointer { gradient in
                    levelRule.update(
                        parameters: levels, gradient: gradient, state: &levelState,
                        learningRate: learningRate * settings.levelRateFactor, threads: 1)
                }
            }
            levels = levels.map(storeLevel)
            // Each latent moves with its level, so that its offset from the level (what the
            // straight-through steps accumulated) is kept; then every coordinate takes the
            // level nearest its latent.
            let shift = zip(levels, codebook.levels).map { $0 - $1 }
            for i in 0..<latent.count { latent[i] += shift[Int(codebook.symbols[i])] }
            let order = levels.indices.sorted { (levels[$0], $0) < (levels[$1], $1) }
            if order != Array(levels.indices) {
                // An Adam step swapped two levels: sort them, with their optimiser slots.
                levels = order.map { levels[$0] }
                levelState = OptimizerState(step: levelState.step, slots: levelState.slots.map { slot in order.map { slot[$0] } })
            }
            codebook.levels = levels
            codebook.levels.withUnsafeBufferPointer { levels in
                for i in 0..<latent.count { codebook.symbols[i] = UInt16(Codebook.nearest(latent[i], in: levels)) }
            }
            set(codebook)
        }
    }

    /// At the end of an epoch (`epochsCompleted` 1-based, of `totalEpochs`): fits the
    /// codebook at its epoch.
    func epochDone(epochsCompleted: Int, totalEpochs: Int, latent: [Float]) {
        if codebook == nil, epochsCompleted >= settings.fitEpoch(totalEpochs: totalEpochs) { fit(latent) }
    }
}
