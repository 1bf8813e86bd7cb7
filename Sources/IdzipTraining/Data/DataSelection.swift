import IdzipCore

/// Which data set to train on and which of the paper's variants of it (Li et al. 2018,
/// Sec. 3.2: shuffled pixels, shuffled labels, a fraction of the training set).
public struct DataSelection: Sendable, Hashable {
    /// "mnist", "fashion-mnist" or a directory (see `DatasetCatalog.load`).
    public var name: String
    public var variant: DatasetVariant
    /// An explicit input preprocessing for training (nil: bytes / 255, floats as they are).
    public var preprocessing: InputPreprocessing?

    public init(name: String, variant: DatasetVariant = DatasetVariant(), preprocessing: InputPreprocessing? = nil) {
        self.name = name
        self.variant = variant
        self.preprocessing = preprocessing
    }

    /// A short description, recorded in models and sweeps: "mnist" or
    /// "mnist (shuffled pixels, seed 0)".
    public var summary: String {
        var parts: [String] = []
        if variant.shufflePixels { parts.append("shuffled pixels") }
        if variant.shuffleLabels { parts.append("shuffled labels") }
        if variant.trainingFraction < 1 { parts.append("\(variant.trainingFraction) of training set") }
        if variant.validationFraction > 0 { parts.append("\(variant.validationFraction) held out for validation") }
        return parts.isEmpty ? name : "\(name) (\(parts.joined(separator: ", ")), seed \(variant.seed))"
    }

    /// The selection a `summary` describes (the inverse of `summary`, as models record it):
    /// "mnist", or "/data/x (shuffled pixels, 0.1 of training set, seed 3)". A text that is
    /// not such a summary is taken as a data set name.
    public init(recorded summary: String) {
        self.init(name: summary)
        guard summary.hasSuffix(")"), let open = summary.range(of: " (", options: .backwards) else { return }
        var parts = summary[open.upperBound..<summary.index(before: summary.endIndex)].components(separatedBy: ", ")
        guard let last = parts.popLast(), last.hasPrefix("seed "), let seed = UInt64(last.dropFirst(5)), !parts.isEmpty else { return }
        var variant = DatasetVariant(seed: seed)
        for part in parts {
            switch part {
            case "shuffled pixels": variant.shufflePixels = true
            case "shuffled labels": variant.shuffleLabels = true
            case _ where part.hasSuffix(" held out for validation"):
                guard let fraction = Double(part.dropLast(24)), fraction > 0, fraction < 1 else { return }
                variant.validationFraction = fraction
            default:
                guard part.hasSuffix(" of training set"), let fraction = Double(part.dropLast(16)), fraction > 0, fraction < 1 else { return }
                variant.trainingFraction = fraction
            }
        }
        let candidate = DataSelection(name: String(summary[..<open.lowerBound]), variant: variant)
        if candidate.summary == summary { self = candidate }
    }

    /// The training and test sets with the variant applied.
    /// - Throws: `DataError` when the data set is missing, damaged or does not fit the variant.
    public func load() throws(DataError) -> DatasetPair {
        let pair = try DatasetCatalog.load(name)
        return variant.isIdentity ? pair : try pair.applying(variant)
    }
}

/// A training set in memory with the selection it came from.
public struct SelectedData: Sendable {
    public var selection: DataSelection
    public var pair: DatasetPair

    public init(selection: DataSelection, pair: DatasetPair) {
        self.selection = selection
        self.pair = pair
    }

    /// What decisions (early stopping, search, best epoch) are taken on: "validation (0.1 of
    /// the training set held out, data seed 0)" or "test set (the paper's convention)".
    public var selectedOn: String {
        selection.variant.validationFraction > 0
            ? "validation (\(selection.variant.validationFraction) of the training set held out, data seed \(selection.variant.seed))"
            : "test set (the paper's convention)"
    }

    /// Loads `selection`, with its explicit preprocessing set on both sets.
    /// - Throws: `DataError` as `DataSelection.load`, or `.invalid` for a preprocessing that
    ///   does not fit the data.
    public init(_ selection: DataSelection) throws(DataError) {
        var pair = try selection.load()
        if let choice = selection.preprocessing {
            let preprocessing = try choice.resolved(for: pair.train)
            pair.train.preprocessing = preprocessing
            pair.test.preprocessing = preprocessing
            pair.validation?.preprocessing = preprocessing
        }
        self.init(selection: selection, pair: pair)
    }
}

/// An input preprocessing chosen for training, x = (raw * scale - mean[c]) / std[c]
/// (`idzip train --scale --mean --std`); parts left unset take the defaults: scale 1/255
/// for byte data and 1 for float data, mean 0, std 1.
public struct InputPreprocessing: Sendable, Hashable {
    public var scale: Float?
    /// One value, or one per channel (C of a [C, H, W] input).
    public var mean: [Float]?
    public var standardDeviation: [Float]?

    public init(scale: Float? = nil, mean: [Float]? = nil, standardDeviation: [Float]? = nil) {
        self.scale = scale
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The preprocessing for `dataset`.
    /// - Throws: `DataError.invalid` for values that are not finite, a std that is not
    ///   positive, or a number of means or stds that is neither 1 nor the channel count.
    public func resolved(for dataset: Dataset) throws(DataError) -> Preprocessing {
        let count = max(mean?.count ?? 1, standardDeviation?.count ?? 1)
        let means = mean ?? [Float](repeating: 0, count: count)
        let deviations = standardDeviation ?? [Float](repeating: 1, count: count)
        let scale = self.scale ?? dataset.trainingInputScale
        let channels = dataset.exampleShape.count == 3 ? dataset.exampleShape[0] : 1
        guard means.count == deviations.count, means.count == 1 || means.count == channels else {
            throw .invalid("--mean and --std need one value or one per channel (\(channels) for examples of shape \(dataset.exampleShape)), "
                + "got \(means.count) and \(deviations.count)")
        }
        guard scale.isFinite, scale != 0, (means + deviations).allSatisfy(\.isFinite), deviations.allSatisfy({ $0 > 0 }) else {
            throw .invalid("--scale must be finite and non-zero, --mean finite and --std positive")
        }
        return Preprocessing(inputScale: scale, mean: means, standardDeviation: deviations)
    }
}
