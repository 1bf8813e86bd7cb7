import Foundation
import IdzipCore

/// What loading a data selection will hold in memory and how many examples each part will
/// have, from the files' headers alone (no body is read or inflated), so a command can
/// check everything it will hold (`MemoryBudget`) before it reads the data.
public struct DataFootprint: Sendable, Equatable {
    /// Training examples after the variant (fraction kept, validation held out).
    public var trainExamples: Int
    /// Test examples.
    public var testExamples: Int
    /// Examples held out for validation (0 without).
    public var validationExamples: Int
    /// Bytes held while the data is read: the whole files as the loader holds them
    /// (IDX images twice, as read and as kept, labels as their bytes and as Int32; `.npy`
    /// and CIFAR-10 files at twice their size on disk, as their loaders budget them), and
    /// for a variant the copy of the training set it keeps, made beside them.
    public var bytes: Int
    /// Bytes held once the data is read: the sets the command keeps (after the variant),
    /// features as stored in memory (bytes, or float32) and labels as Int32.
    public var heldBytes: Int

    /// The examples of `split`: "test", "train" or "validation".
    public func examples(of split: String) -> Int {
        switch split {
        case "train": trainExamples
        case "validation": validationExamples
        default: testExamples
        }
    }
}

extension DataSelection {
    /// The footprint of loading this selection (`DataFootprint`), from the file headers.
    /// - Throws: `DataError` when the data set is missing or a header is malformed (what
    ///   `load()` would throw first).
    public func footprint(environment: [String: String] = ProcessInfo.processInfo.environment) throws(DataError) -> DataFootprint {
        let directory: String
        switch name.lowercased() {
        case "mnist":
            guard let found = DatasetCatalog.mnistCandidates(environment: environment).first(where: { DatasetCatalog.idxFiles(in: $0) != nil }) else {
                _ = try DatasetCatalog.load(name, environment: environment)  // throws its own not-found error
                throw .notFound("MNIST not found")
            }
            directory = found
        case "fashion-mnist", "fashion_mnist", "fashionmnist":
            directory = DatasetCatalog.fashionMNISTDirectory
        default:
            directory = name
        }
        var train = 0, test = 0, bytes = 0
        var exampleBytes = 0  // one example's features in memory
        if let paths = DatasetCatalog.idxFiles(in: directory) {
            let opened = [
                try IDXReader.openImages(path: paths[0]), try IDXReader.openLabels(path: paths[1]),
                try IDXReader.openImages(path: paths[2]), try IDXReader.openLabels(path: paths[3]),
            ]
            train = opened[0].dimensions[0]
            test = opened[2].dimensions[0]
            exampleBytes = opened[0].dimensions.dropFirst().reduce(1) { MemoryBudget.product([$0, $1]) }
            // Images twice (as read and as kept: GNU time's peak of `idzip eval` on a 23.5 MB
            // IDX set is the program plus twice the images); labels as read (1 byte) and as Int32 (4).
            bytes = MemoryBudget.sum(
                MemoryBudget.product([2, MemoryBudget.sum(opened[0].byteCount, opened[2].byteCount)]),
                MemoryBudget.product([5, MemoryBudget.sum(opened[1].byteCount, opened[3].byteCount)]))
        } else if let npy = Self.npyPaths(directory) {
            let declared = try npy.map { (path: String) throws(DataError) in try NPYReader.declaredShape(path: path) }
            train = declared[0].shape.first ?? 0
            test = declared[2].shape.first ?? 0
            // uint8 features stay bytes; others become float32.
            exampleBytes = MemoryBudget.product([declared[0].elementType == .uint8 ? 1 : 4] + declared[0].shape.dropFirst())
            bytes = MemoryBudget.product([2, DatasetCatalog.fileBytes(npy)])
        } else if let cifar = Self.cifarPaths(directory) {
            let record = 1 + CIFARReader.imageShape.reduce(1, *)
            train = DatasetCatalog.fileBytes(cifar.train) / record
            exampleBytes = record - 1
            test = DatasetCatalog.fileBytes([cifar.test]) / record
            bytes = MemoryBudget.product([2, DatasetCatalog.fileBytes(cifar.train + [cifar.test])])
        } else {
            _ = try DatasetCatalog.load(name, environment: environment)  // throws the loader's own error
            throw .notFound("\(name) holds no data set")
        }
        var validation = 0
        if !variant.isIdentity {
            if variant.trainingFraction < 1 { train = max(1, Int((variant.trainingFraction * Double(train)).rounded(.down))) }
            if variant.validationFraction > 0 {
                validation = Int((variant.validationFraction * Double(train)).rounded(.down))
                train -= validation
            }
            // The variant's training set is a copy made while the whole files are held.
            bytes = MemoryBudget.sum(bytes, MemoryBudget.product([MemoryBudget.sum(exampleBytes, 4), max(0, train + validation)]))
        }
        train = max(0, train)
        validation = max(0, validation)
        let held = MemoryBudget.product([MemoryBudget.sum(exampleBytes, 4), train + validation + test])
        return DataFootprint(trainExamples: train, testExamples: test, validationExamples: validation, bytes: bytes, heldBytes: held)
    }

    private static func npyPaths(_ directory: String) -> [String]? {
        let paths = ["train_x.npy", "train_y.npy", "test_x.npy", "test_y.npy"].map { directory + "/" + $0 }
        return paths.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) ? paths : nil
    }

    private static func cifarPaths(_ directory: String) -> (train: [String], test: String)? {
        for folder in [directory, directory + "/cifar-10-batches-bin"] {
            let test = folder + "/test_batch.bin"
            let train = (1...9).map { folder + "/data_batch_\($0).bin" }.filter { FileManager.default.fileExists(atPath: $0) }
            if FileManager.default.fileExists(atPath: test), !train.isEmpty { return (train, test) }
        }
        return nil
    }
}
