import IdzipCore

/// Labelled examples: features of one shape per example, stored as bytes (scaled to
/// [0, 1] by x / 255 when batched, as the paper's authors did) or as floats (used as is).
public struct Dataset: Sendable {
    public enum Features: Sendable {
        case bytes([UInt8])
        case floats([Float])

        var count: Int {
            switch self {
            case .bytes(let values): values.count
            case .floats(let values): values.count
            }
        }
    }

    public private(set) var features: Features
    /// Shape of one example, e.g. [1, 28, 28] or [784].
    public let exampleShape: [Int]
    public private(set) var labels: [Int32]
    public let classNames: [String]
    /// An explicit preprocessing (`idzip train --scale --mean --std`) that `fill` applies,
    /// x = (raw * scale - mean[c]) / std[c] in float32, exactly as `Predictor` applies a
    /// model's; nil: bytes / 255 and float features as they are.
    public var preprocessing: Preprocessing?

    public var count: Int { labels.count }
    /// Bytes its features and labels take in memory.
    public var byteCount: Int {
        let featureBytes = switch features {
        case .bytes(let values): values.count
        case .floats(let values): values.count * 4
        }
        return featureBytes + labels.count * 4
    }
    public var featureCount: Int { exampleShape.reduce(1, *) }
    public var classCount: Int { classNames.count }

    public init(features: Features, exampleShape: [Int], labels: [Int32], classNames: [String]) throws(DataError) {
        let perExample = exampleShape.reduce(1, *)
        guard !exampleShape.isEmpty, exampleShape.allSatisfy({ $0 >= 1 }) else {
            throw .invalid("an example shape needs positive dimensions, got \(exampleShape)")
        }
        guard features.count == perExample * labels.count else {
            throw .invalid("\(labels.count) labels but \(features.count) feature values, not \(perExample) per example")
        }
        guard !classNames.isEmpty else { throw .invalid("a data set needs at least one class") }
        try Self.checkUnique(classNames)
        if case .floats(let values) = features, let bad = FiniteValues.firstNonFinite(values) {
            // The finite-value policy (FiniteValues): NaN in the data is bad data, never divergence.
            throw .invalid("feature \(bad % perExample) of example \(bad / perExample) is \(values[bad]); every feature must be a finite number")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classNames.count }) {
            throw .invalid("label \(labels[bad]) of example \(bad) is not one of the \(classNames.count) classes (0 to \(classNames.count - 1))")
        }
        // A NaN or infinity in the inputs would surface as a diverging loss, blamed on the
        // learning rate: refuse it here, where it is.
        if case .floats(let values) = features, let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalid("feature \(bad % perExample) of example \(bad / perExample) is \(values[bad]); the inputs must be finite numbers")
        }
        self.features = features
        self.exampleShape = exampleShape
        self.labels = labels
        self.classNames = classNames
    }

    /// Throws when two classes have the same name: reports key classes by name.
    static func checkUnique(_ classNames: [String]) throws(DataError) {
        var seen: [String: Int] = [:]
        for (index, name) in classNames.enumerated() {
            if let first = seen[name] {
                throw .invalid("classes \(first) and \(index) are both named '\(name)'; class names must differ")
            }
            seen[name] = index
        }
    }

    /// Writes the scaled features of examples `indices` as consecutive rows into `output`.
    public func fill(examples indices: UnsafeBufferPointer<Int>, into output: UnsafeMutablePointer<Float>) {
        let width = featureCount
        if let preprocessing {
            for (row, index) in indices.enumerated() {
                let target = UnsafeMutableBufferPointer(start: output + row * width, count: width)
                fillRaw(range: index..<(index + 1), into: target)
                preprocessing.apply(to: target, inputShape: exampleShape)
            }
            return
        }
        switch features {
        case .bytes(let values):
            values.withUnsafeBufferPointer { values in
                for (row, index) in indices.enumerated() {
                    let source = values.baseAddress! + index * width
                    let target = output + row * width
                    var j = 0
                    while j + 8 <= width {
                        let bytes = UnsafeRawPointer(source + j).loadUnaligned(as: SIMD8<UInt8>.self)
                        SIMDMemory.store(SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes)) / 255, target + j)
                        j += 8
                    }
                    while j < width {
                        target[j] = Float(source[j]) / 255
                        j += 1
                    }
                }
            }
        case .floats(let values):
            values.withUnsafeBufferPointer { values in
                for (row, index) in indices.enumerated() {
                    (output + row * width).update(from: values.baseAddress! + index * width, count: width)
                }
            }
        }
    }

    /// Writes the scaled features of the consecutive examples `range` into `output`.
    public func fill(range: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        let indices = Array(range)
        indices.withUnsafeBufferPointer { fill(examples: $0, into: output.baseAddress!) }
    }

    /// Writes the raw features of the consecutive examples `range` into `output` as floats,
    /// as the files store them (a byte b as Float(b)), for `Predictor` to preprocess.
    public func fillRaw(range: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        let width = featureCount
        switch features {
        case .bytes(let values):
            values.withUnsafeBufferPointer { values in
                let source = values.baseAddress! + range.lowerBound * width
                for i in 0..<(range.count * width) { output[i] = Float(source[i]) }
            }
        case .floats(let values):
            values.withUnsafeBufferPointer { values in
                output.baseAddress!.update(from: values.baseAddress! + range.lowerBound * width, count: range.count * width)
            }
        }
    }

    /// The input scale training applies by default, as a model's `Preprocessing` records
    /// it: 1/255 for byte features, 1 for float features (used as they are).
    public var trainingInputScale: Float {
        if case .bytes = features { return 1.0 / 255.0 }
        return 1
    }

    /// What training applies to the raw features, as a model records it: the explicit
    /// `preprocessing`, else x * `trainingInputScale` with mean 0 and std 1.
    public var trainingPreprocessing: Preprocessing {
        preprocessing ?? Preprocessing(inputScale: trainingInputScale, mean: [0], standardDeviation: [1])
    }

    /// All examples as scaled float rows.
    public func floatFeatures() -> [Float] {
        var result = [Float](repeating: 0, count: count * featureCount)
        result.withUnsafeMutableBufferPointer { fill(range: 0..<count, into: $0) }
        return result
    }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        let width = featureCount
        var copy = self
        copy.labels = indices.map { labels[$0] }
        switch features {
        case .bytes(let values):
            var selected = [UInt8](); selected.reserveCapacity(indices.count * width)
            for index in indices { selected.append(contentsOf: values[(index * width)..<((index + 1) * width)]) }
            copy.features = .bytes(selected)
        case .floats(let values):
            var selected = [Float](); selected.reserveCapacity(indices.count * width)
            for index in indices { selected.append(contentsOf: values[(index * width)..<((index + 1) * width)]) }
            copy.features = .floats(selected)
        }
        return copy
    }

    /// Features with positions moved: new[position] = old[permutation[position]] within each
    /// channel plane (for [C, H, W]) or over all features (other shapes).
    public func permutingPositions(_ permutation: [UInt32]) throws(DataError) -> Dataset {
        let width = featureCount
        let plane = permutation.count
        guard plane > 0, width % plane == 0, Set(permutation).count == plane, permutation.allSatisfy({ Int($0) < plane }) else {
            throw .invalid("a permutation of \(plane) positions does not fit examples of shape \(exampleShape)")
        }
        var copy = self
        func permute<T>(_ values: [T]) -> [T] {
            var result = values
            values.withUnsafeBufferPointer { source in
                result.withUnsafeMutableBufferPointer { target in
                    var start = 0
                    while start < source.count {
                        for p in 0..<plane { target[start + p] = source[start + Int(permutation[p])] }
                        start += plane
                    }
                }
            }
            return result
        }
        switch features {
        case .bytes(let values): copy.features = .bytes(permute(values))
        case .floats(let values): copy.features = .floats(permute(values))
        }
        return copy
    }

    /// The same examples with other labels.
    public func relabelled(_ newLabels: [Int32]) throws(DataError) -> Dataset {
        guard newLabels.count == labels.count else { throw .invalid("\(newLabels.count) labels for \(labels.count) examples") }
        return try Dataset(features: features, exampleShape: exampleShape, labels: newLabels, classNames: classNames)
    }
}

/// A training set and a test set of the same kind.
public struct DatasetPair: Sendable {
    /// What the data is, e.g. "mnist" or a directory path.
    public var name: String
    public var train: Dataset
    public var test: Dataset
    /// Examples held out of the training set for decisions (`DatasetVariant.validationFraction`);
    /// nil: decisions use the test set.
    public var validation: Dataset?
    /// Bytes both sets take in memory.
    public var byteCount: Int { train.byteCount + test.byteCount }

    public init(name: String, train: Dataset, test: Dataset) throws(DataError) {
        guard train.exampleShape == test.exampleShape else {
            throw .invalid("training examples have shape \(train.exampleShape) but test examples \(test.exampleShape)")
        }
        guard train.classNames == test.classNames else { throw .invalid("training and test sets have different classes") }
        guard train.count > 0 else { throw .invalid("\(name): the training set has no examples") }
        guard test.count > 0 else { throw .invalid("\(name): the test set has no examples") }
        self.name = name
        self.train = train
        self.test = test
    }
}
