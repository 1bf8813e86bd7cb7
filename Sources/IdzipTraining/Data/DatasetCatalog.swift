import Foundation
import IdzipCore

/// Finds and loads data sets by name ("mnist", "fashion-mnist") or by directory.
public enum DatasetCatalog {
    public static let namedSets = ["mnist", "fashion-mnist"]

    /// Environment variable naming a directory that holds the MNIST files (or a `mnist`
    /// folder with them).
    public static let dataDirectoryVariable = "IDZIP_DATA"
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    static let mnistDigests = [
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ]
    static let fashionDigests = [
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ]
    static let fashionClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Loads "mnist", "fashion-mnist" (both checked against their published SHA-256
    /// digests), or a directory holding IDX files, `train_x.npy`/`train_y.npy`/
    /// `test_x.npy`/`test_y.npy`, or CIFAR-10 binary batches.
    public static func load(
        _ name: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(DataError) -> DatasetPair {
        switch name.lowercased() {
        case "mnist":
            let candidates = mnistCandidates(environment: environment)
            guard let directory = candidates.first(where: { idxFiles(in: $0) != nil }) else {
                throw .notFound(
                    "MNIST not found; looked in \(candidates.joined(separator: ", ")); "
                        + "set \(dataDirectoryVariable) to a directory with the four MNIST IDX files (.gz or plain)")
            }
            return try loadIDX(directory: directory, name: "mnist", classNames: (0..<10).map(String.init), digests: mnistDigests)
        case "fashion-mnist", "fashion_mnist", "fashionmnist":
            guard idxFiles(in: fashionMNISTDirectory) != nil else {
                throw .notFound(
                    "Fashion-MNIST not found in \(fashionMNISTDirectory); install it with `apt-get install dataset-fashion-mnist`")
            }
            return try loadIDX(directory: fashionMNISTDirectory, name: "fashion-mnist", classNames: fashionClassNames, digests: fashionDigests)
        default:
            return try loadDirectory(name)
        }
    }

    /// Loads a directory of IDX, NPY or CIFAR-10 binary files (no digest check).
    public static func loadDirectory(_ path: String) throws(DataError) -> DatasetPair {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .notFound("no data set named '\(path)' (known: \(namedSets.joined(separator: ", "))) and no such directory")
        }
        guard isDirectory.boolValue else { throw .notFound("\(path) is not a directory of data files") }
        if idxFiles(in: path) != nil {
            return try loadIDX(directory: path, name: path, classNames: nil, digests: nil)
        }
        if let pair = try NPYDirectory.load(path) { return pair }
        for directory in [path, path + "/cifar-10-batches-bin"] {
            if let pair = try CIFARDirectory.load(directory, name: path) { return pair }
        }
        throw .notFound(
            "\(path) holds no data set: expected train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                + "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]; or train_x.npy, train_y.npy, test_x.npy "
                + "and test_y.npy; or CIFAR-10 data_batch_*.bin and test_batch.bin")
    }

    /// Where "mnist" is looked for, in order.
    public static func mnistCandidates(environment: [String: String]) -> [String] {
        var candidates: [String] = []
        if let root = environment[dataDirectoryVariable], !root.isEmpty {
            candidates += [root, root + "/mnist"]
        }
        let current = FileManager.default.currentDirectoryPath
        candidates.append(current + "/samples/mnist")
        // Next to the package checkout of the running executable (e.g. .build/release/idzip),
        // and where a release installs the data (PREFIX/bin/idzip, PREFIX/share/idzip/mnist).
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            var directory = executable.deletingLastPathComponent()
            candidates.append(directory.deletingLastPathComponent().path + "/share/idzip/mnist")
            for _ in 0..<6 {
                candidates.append(directory.path + "/samples/mnist")
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        // The checkout this library was built from.
        let source = URL(fileURLWithPath: #filePath)
        candidates.append(source.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path + "/samples/mnist")
        var seen = Set<String>()
        return candidates.map { URL(fileURLWithPath: $0).standardizedFileURL.path }.filter { seen.insert($0).inserted }
    }

    /// The four IDX files of a directory (train images, train labels, test images, test labels).
    static func idxFiles(in directory: String) -> [String]? {
        let names: [[String]] = [
            ["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
            ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
            ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte", "test-images-idx3-ubyte"],
            ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte", "test-labels-idx1-ubyte"],
        ]
        var found: [String] = []
        for options in names {
            let paths = options.flatMap { [directory + "/" + $0, directory + "/" + $0 + ".gz"] }
            guard let path = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
            found.append(path)
        }
        return found
    }

    static func loadIDX(
        directory: String, name: String, classNames: [String]?, digests: [String: String]?
    ) throws(DataError) -> DatasetPair {
        guard let paths = idxFiles(in: directory) else { throw .notFound("no IDX files in \(directory)") }
        let check = digests != nil
        // Every header first: counts are compared and declared sizes budgeted before any
        // body is read, so a small compressed file declaring millions of images fails at once.
        let opened = [
            try IDXReader.openImages(path: paths[0], digest: check), try IDXReader.openLabels(path: paths[1], digest: check),
            try IDXReader.openImages(path: paths[2], digest: check), try IDXReader.openLabels(path: paths[3], digest: check),
        ]
        for (images, labels) in [(opened[0], opened[1]), (opened[2], opened[3])] where images.dimensions[0] != labels.dimensions[0] {
            throw .invalid("\(images.path) declares \(images.dimensions[0]) images but its labels file \(labels.path) \(labels.dimensions[0]) labels")
        }
        guard opened[0].dimensions.dropFirst() == opened[2].dimensions.dropFirst() else {
            throw .invalid("\(opened[0].path) declares images of \(opened[0].dimensions.dropFirst().map(String.init).joined(separator: "x")) "
                + "but \(opened[2].path) of \(opened[2].dimensions.dropFirst().map(String.init).joined(separator: "x"))")
        }
        var budget = MemoryBudget()
        budget.add("images as their headers declare", bytes: opened[0].byteCount + opened[2].byteCount)
        budget.add("labels (5 bytes each)", bytes: 5 * (opened[1].byteCount + opened[3].byteCount))
        do {
            try budget.check("reading \(directory)")
        } catch {
            throw .invalid(error.description)
        }
        let trainImages = try opened[0].readBody()
        let trainLabels = try opened[1].readBody()
        let testImages = try opened[2].readBody()
        let testLabels = try opened[3].readBody()
        if let digests {
            let keys = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
            for (index, array) in [trainImages, trainLabels, testImages, testLabels].enumerated() {
                let expected = digests[keys[index]]!
                if array.digest != expected {
                    throw .digestMismatch(path: paths[index], expected: expected, actual: array.digest ?? "")
                }
            }
        }
        let names = classNames ?? (0...Int(max(trainLabels.bytes.max() ?? 0, testLabels.bytes.max() ?? 0))).map(String.init)
        func dataset(_ images: IDXReader.Array, _ labels: IDXReader.Array, _ imagePath: String) throws(DataError) -> Dataset {
            guard images.dimensions[0] == labels.dimensions[0] else {
                throw .invalid("\(imagePath) holds \(images.dimensions[0]) images but its labels file \(labels.dimensions[0]) labels")
            }
            return try Dataset(
                features: .bytes(images.bytes), exampleShape: [1, images.dimensions[1], images.dimensions[2]],
                labels: labels.bytes.map { Int32($0) }, classNames: names)
        }
        return try DatasetPair(
            name: name, train: dataset(trainImages, trainLabels, paths[0]), test: dataset(testImages, testLabels, paths[2]))
    }

    /// The summed sizes of `paths` in bytes (a file that cannot be inspected counts 0;
    /// reading it reports the problem).
    static func fileBytes(_ paths: [String]) -> Int {
        paths.reduce(0) { total, path in
            MemoryBudget.sum(total, ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0)
        }
    }

    /// Class names from a text file of one name per line, if present; with `limit`, only
    /// the first `limit` names are used.
    /// - Throws: `DataError.malformed` when two of the names used are the same.
    static func classNames(file: String, count: Int, limit: Int? = nil) throws(DataError) -> [String]? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        var names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count >= count else { return nil }
        if let limit { names = Array(names.prefix(limit)) }
        do {
            try Dataset.checkUnique(names)
        } catch {
            throw .malformed(path: file, reason: error.description)
        }
        return names
    }
}

/// `train_x.npy`, `train_y.npy`, `test_x.npy`, `test_y.npy` in one directory.
enum NPYDirectory {
    static func load(_ directory: String) throws(DataError) -> DatasetPair? {
        let names = ["train_x.npy", "train_y.npy", "test_x.npy", "test_y.npy"]
        let paths = names.map { directory + "/" + $0 }
        guard paths.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) else { return nil }
        // .npy files are read uncompressed: their sizes bound the arrays (bytes read, floats made).
        var budget = MemoryBudget()
        budget.add(".npy files (twice their size on disk)", bytes: MemoryBudget.product([2, DatasetCatalog.fileBytes(paths)]))
        do {
            try budget.check("reading \(directory)")
        } catch {
            throw .invalid(error.description)
        }
        let arrays = try paths.map { (path: String) throws(DataError) -> NPYReader.Array in try NPYReader.read(path: path) }
        var labelSets: [[Int32]] = []
        for index in [1, 3] {
            let array = arrays[index]
            guard array.shape.count == 1 else {
                throw .malformed(path: array.path, reason: "labels must have shape (count,), found \(array.shape)")
            }
            let values = try array.integers()
            if let bad = values.first(where: { $0 < 0 || $0 >= 65_536 }) {
                throw .malformed(path: array.path, reason: "label \(bad) is outside 0 to 65,535")
            }
            labelSets.append(values.map { Int32($0) })
        }
        let classCount = Int(max(labelSets[0].max() ?? 0, labelSets[1].max() ?? 0)) + 1
        let classNames = try DatasetCatalog.classNames(file: directory + "/classes.txt", count: classCount)
            ?? (0..<classCount).map(String.init)
        var sets: [Dataset] = []
        for (featureIndex, labels) in zip([0, 2], labelSets) {
            let array = arrays[featureIndex]
            guard array.shape.count >= 2, array.shape[0] == labels.count else {
                throw .malformed(path: array.path, reason: "features of shape \(array.shape) do not match \(labels.count) labels")
            }
            var shape = Array(array.shape.dropFirst())
            if shape.count == 2 { shape.insert(1, at: 0) }  // [N, H, W] images get one channel
            guard shape.allSatisfy({ $0 >= 1 }) else { throw .malformed(path: array.path, reason: "empty example shape \(shape)") }
            let features: Dataset.Features
            switch array.elementType {
            case .uint8: features = .bytes(array.bytes)
            case .float32, .float64: features = .floats(array.floats())
            default:
                throw .malformed(path: array.path, reason: "features must be uint8 or float32, found \(array.elementType)")
            }
            do {
                sets.append(try Dataset(features: features, exampleShape: shape, labels: labels, classNames: classNames))
            } catch {
                throw .malformed(path: array.path, reason: error.description)
            }
        }
        return try DatasetPair(name: directory, train: sets[0], test: sets[1])
    }
}

/// CIFAR-10 binary batches: `data_batch_1.bin` ... and `test_batch.bin`.
enum CIFARDirectory {
    static func load(_ directory: String, name: String) throws(DataError) -> DatasetPair? {
        let testPath = directory + "/test_batch.bin"
        guard FileManager.default.fileExists(atPath: testPath) else { return nil }
        let trainPaths = (1...9).map { directory + "/data_batch_\($0).bin" }.filter { FileManager.default.fileExists(atPath: $0) }
        guard !trainPaths.isEmpty else { return nil }
        // Files are read uncompressed: their sizes bound the records (images, a copy while
        // appending, labels as Int32).
        var budget = MemoryBudget()
        budget.add("CIFAR-10 batches (twice their size on disk)", bytes: MemoryBudget.product([2, DatasetCatalog.fileBytes(trainPaths + [testPath])]))
        do {
            try budget.check("reading \(directory)")
        } catch {
            throw .invalid(error.description)
        }
        var images: [UInt8] = []
        var labels: [Int32] = []
        for path in trainPaths {
            let batch = try CIFARReader.read(path: path)
            images += batch.images
            labels += batch.labels
        }
        let test = try CIFARReader.read(path: testPath)
        let classNames = try DatasetCatalog.classNames(file: directory + "/batches.meta.txt", count: 10, limit: 10)
            ?? CIFARReader.defaultClassNames
        return try DatasetPair(
            name: name,
            train: Dataset(features: .bytes(images), exampleShape: CIFARReader.imageShape, labels: labels, classNames: classNames),
            test: Dataset(features: .bytes(test.images), exampleShape: CIFARReader.imageShape, labels: test.labels, classNames: classNames))
    }
}
