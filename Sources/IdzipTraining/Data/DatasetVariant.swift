import IdzipCore

/// Changes to a data set used in the paper's experiments, each reproducible from `seed`.
public struct DatasetVariant: Sendable, Hashable {
    /// One random permutation of pixel positions, the same for every example of both sets
    /// (for [C, H, W] examples the channels of a pixel move together).
    public var shufflePixels: Bool
    /// Training labels randomly permuted among the training examples (test labels kept).
    public var shuffleLabels: Bool
    /// Keep this fraction of the training set, in (0, 1]; examples chosen at random, kept in order.
    public var trainingFraction: Double
    /// Hold out this fraction of the (kept) training set as the validation set, in [0, 1);
    /// 0: none, and decisions are taken on the test set (the paper's convention).
    public var validationFraction: Double
    public var seed: UInt64

    public init(
        shufflePixels: Bool = false, shuffleLabels: Bool = false, trainingFraction: Double = 1, validationFraction: Double = 0,
        seed: UInt64 = 0
    ) {
        self.shufflePixels = shufflePixels
        self.shuffleLabels = shuffleLabels
        self.trainingFraction = trainingFraction
        self.validationFraction = validationFraction
        self.seed = seed
    }

    public var isIdentity: Bool { !shufflePixels && !shuffleLabels && trainingFraction == 1 && validationFraction == 0 }
}

extension DatasetPair {
    /// The pair with `variant` applied: first the training subset, then label shuffling
    /// within it, then the pixel permutation of both sets.
    public func applying(_ variant: DatasetVariant) throws(DataError) -> DatasetPair {
        guard variant.trainingFraction > 0, variant.trainingFraction <= 1 else {
            throw .invalid("the training fraction must be above 0 and at most 1, got \(variant.trainingFraction)")
        }
        guard variant.validationFraction >= 0, variant.validationFraction < 1 else {
            throw .invalid("the validation fraction must be in [0, 1), got \(variant.validationFraction)")
        }
        var result = self
        if variant.trainingFraction < 1 {
            let keep = max(1, Int((variant.trainingFraction * Double(train.count)).rounded(.down)))
            let order = RandomStream(seed: variant.seed, purpose: .subsetSelection).permutation(count: train.count)
            result.train = train.subset(order.prefix(keep).map(Int.init).sorted())
        }
        if variant.validationFraction > 0 {
            // Held out of the kept training set: the first examples of a random order, kept in order.
            let count = result.train.count
            let held = Int((variant.validationFraction * Double(count)).rounded(.down))
            guard held >= 1, held < count else {
                throw .invalid("a validation fraction of \(variant.validationFraction) of \(count) training examples holds out \(held); "
                    + "it must leave at least one example on each side")
            }
            let order = RandomStream(seed: variant.seed, purpose: .validationSplit).permutation(count: count).map(Int.init)
            result.validation = result.train.subset(order.prefix(held).sorted())
            result.train = result.train.subset(order.dropFirst(held).sorted())
        }
        if variant.shuffleLabels {
            let order = RandomStream(seed: variant.seed, purpose: .labelShuffle).permutation(count: result.train.count)
            let labels = result.train.labels
            result.train = try result.train.relabelled(order.map { labels[Int($0)] })
        }
        if variant.shufflePixels {
            let shape = train.exampleShape
            let positions = shape.count == 3 ? shape[1] * shape[2] : train.featureCount
            let permutation = RandomStream(seed: variant.seed, purpose: .pixelPermutation).permutation(count: positions)
            result.train = try result.train.permutingPositions(permutation)
            result.test = try result.test.permutingPositions(permutation)
            result.validation = try result.validation?.permutingPositions(permutation)
        }
        if !variant.isIdentity {
            var parts: [String] = []
            if variant.trainingFraction < 1 { parts.append("fraction=\(variant.trainingFraction)") }
            if variant.validationFraction > 0 { parts.append("validation=\(variant.validationFraction)") }
            if variant.shuffleLabels { parts.append("shuffled-labels") }
            if variant.shufflePixels { parts.append("shuffled-pixels") }
            result.name = "\(name) (\(parts.joined(separator: ", ")), seed \(variant.seed))"
        }
        return result
    }
}
