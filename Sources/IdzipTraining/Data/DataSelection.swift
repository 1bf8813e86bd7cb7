import IdzipCore

/// Which data set to train on and which of the paper's variants of it (Li et al. 2018,
/// Sec. 3.2: shuffled pixels, shuffled labels, a fraction of the training set).
public struct DataSelection: Sendable, Hashable {
    /// "mnist", "fashion-mnist" or a directory (see `DatasetCatalog.load`).
    public var name: String
    public var variant: DatasetVariant

    public init(name: String, variant: DatasetVariant = DatasetVariant()) {
        self.name = name
        self.variant = variant
    }

    /// A short description, recorded in models and sweeps: "mnist" or
    /// "mnist (shuffled pixels, seed 0)".
    public var summary: String {
        var parts: [String] = []
        if variant.shufflePixels { parts.append("shuffled pixels") }
        if variant.shuffleLabels { parts.append("shuffled labels") }
        if variant.trainingFraction < 1 { parts.append("\(variant.trainingFraction) of training set") }
        return parts.isEmpty ? name : "\(name) (\(parts.joined(separator: ", ")), seed \(variant.seed))"
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

    /// Loads `selection`.
    public init(_ selection: DataSelection) throws(DataError) {
        self.init(selection: selection, pair: try selection.load())
    }
}
