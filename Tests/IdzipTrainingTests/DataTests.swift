import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// Writes files into a fresh temporary directory.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "idzip-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }
}

enum FileBytes {
    static func idx(rank: Int, dimensions: [Int], body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 8, UInt8(rank)]
        for dimension in dimensions { bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: dimension >> $0) } }
        return bytes + body
    }

    static func npy(descr: String, shape: [Int], body: [UInt8], version: UInt8 = 1, fortran: Bool = false) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let length = header.utf8.count
        bytes += version == 1 ? [UInt8(length & 255), UInt8(length >> 8)] : [UInt8(length & 255), UInt8(length >> 8), 0, 0]
        return bytes + Array(header.utf8) + body
    }

    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    static func int64s(_ values: [Int64]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }
}

@Suite struct IDXTests {
    @Test func readsImagesAndLabels() throws {
        let directory = try TemporaryDirectory()
        let images = try directory.write("images", FileBytes.idx(rank: 3, dimensions: [2, 2, 3], body: Array(0..<12)))
        let labels = try directory.write("labels", FileBytes.idx(rank: 1, dimensions: [2], body: [7, 1]))
        let imageArray = try IDXReader.readImages(path: images)
        #expect(imageArray.dimensions == [2, 2, 3])
        #expect(imageArray.bytes == Array(0..<12))
        #expect(try IDXReader.readLabels(path: labels).bytes == [7, 1])
    }

    @Test func rejectsHostileFiles() throws {
        let directory = try TemporaryDirectory()
        func error(_ bytes: [UInt8], labels: Bool = false) throws -> String {
            let path = try directory.write("file", bytes)
            do {
                _ = labels ? try IDXReader.readLabels(path: path) : try IDXReader.readImages(path: path)
                return "no error"
            } catch { return error.description }
        }
        #expect(try error([1, 2, 3]).contains("ends inside"))
        #expect(try error([9, 9, 8, 3, 0, 0, 0, 1]).contains("no IDX magic"))
        #expect(try error([0, 0, 0x0d, 3]).contains("not unsigned bytes"))
        #expect(try error(FileBytes.idx(rank: 1, dimensions: [2], body: [1, 2])).contains("3 dimension"))
        // 2^31-1 x 65535 x 65535 bytes: refused from the header alone.
        #expect(try error(FileBytes.idx(rank: 3, dimensions: [Int(Int32.max), 65_535, 65_535], body: [])).contains("exceeds"))
        #expect(try error(FileBytes.idx(rank: 3, dimensions: [0, 28, 28], body: [])).contains("dimension 0 is 0"))
        #expect(try error(FileBytes.idx(rank: 3, dimensions: [2, 2, 2], body: [1, 2, 3])).contains("ends inside the images"))
        #expect(try error(FileBytes.idx(rank: 1, dimensions: [2], body: [1, 2, 3]), labels: true).contains("bytes after"))
        #expect(try error([]).contains("ends inside"))
        // A 16-byte file declaring 4 GB of images fails at once, without allocating them.
        #expect(try error(FileBytes.idx(rank: 3, dimensions: [1, 65_535, 65_535], body: [1])).contains("1 of 4294836225 bytes"))
        do {
            _ = try IDXReader.readImages(path: directory.path + "/missing")
            Issue.record("no error")
        } catch { #expect(error.description.contains("cannot read")) }
    }

    @Test func rejectsTruncatedGzip() throws {
        let sample = try #require(DatasetCatalog.mnistCandidates(environment: [:]).first {
            FileManager.default.fileExists(atPath: $0 + "/t10k-labels-idx1-ubyte.gz")
        })
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sample + "/t10k-labels-idx1-ubyte.gz")))
        let directory = try TemporaryDirectory()
        let path = try directory.write("labels.gz", Array(whole.prefix(whole.count / 2)))
        #expect(throws: DataError.self) { try IDXReader.readLabels(path: path) }
        var damaged = whole
        damaged[whole.count / 2] ^= 0xff
        let damagedPath = try directory.write("damaged.gz", damaged)
        #expect(throws: DataError.self) { try IDXReader.readLabels(path: damagedPath) }
        let labels = try IDXReader.readLabels(path: try directory.write("good.gz", whole), digest: true)
        #expect(labels.dimensions == [10_000])
        #expect(labels.digest == "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")
    }
}

@Suite struct NPYTests {
    @Test(arguments: [UInt8(1), 2, 3])
    func readsDirectoryOfArrays(_ version: UInt8) throws {
        let directory = try TemporaryDirectory()
        try directory.write("train_x.npy", FileBytes.npy(descr: "<f4", shape: [3, 2, 2], body: FileBytes.floats((0..<12).map(Float.init)), version: version))
        try directory.write("train_y.npy", FileBytes.npy(descr: "<i8", shape: [3], body: FileBytes.int64s([0, 2, 1]), version: version))
        try directory.write("test_x.npy", FileBytes.npy(descr: "|u1", shape: [1, 2, 2], body: [0, 255, 51, 0], version: version))
        try directory.write("test_y.npy", FileBytes.npy(descr: "<i4", shape: [1], body: [2, 0, 0, 0], version: version))
        let pair = try DatasetCatalog.load(directory.path)
        #expect(pair.train.exampleShape == [1, 2, 2])
        #expect(pair.train.labels == [0, 2, 1])
        #expect(pair.train.classCount == 3)
        #expect(pair.train.floatFeatures() == (0..<12).map(Float.init))
        #expect(pair.test.floatFeatures() == [0, 1, Float(51) / 255, 0])
        #expect(pair.test.labels == [2])
    }

    @Test func rejectsBadArrays() throws {
        let directory = try TemporaryDirectory()
        func error(_ bytes: [UInt8]) throws -> String {
            let path = try directory.write("a.npy", bytes)
            do { _ = try NPYReader.read(path: path); return "no error" } catch { return error.description }
        }
        #expect(try error(FileBytes.npy(descr: ">f4", shape: [2], body: [0, 0, 0, 0, 0, 0, 0, 0])).contains("big-endian"))
        #expect(try error(FileBytes.npy(descr: "<f4", shape: [2], body: [0, 0, 0, 0, 0, 0, 0, 0], fortran: true)).contains("Fortran"))
        #expect(try error(FileBytes.npy(descr: "<c8", shape: [1], body: Array(repeating: 0, count: 8))).contains("unsupported dtype"))
        #expect(try error(FileBytes.npy(descr: "<f4", shape: [3], body: [0, 0, 0, 0])).contains("ends inside"))
        #expect(try error(FileBytes.npy(descr: "<f4", shape: [1 << 30, 1 << 30], body: [])).contains("exceeds"))
        #expect(try error(Array("NOTNPY".utf8)).contains("ends inside") || error(Array("NOTNPY..".utf8)).contains("magic"))
        #expect(try error([0x93] + Array("NUMPY".utf8) + [9, 0, 0, 0]).contains("version 9"))
    }
}

@Suite struct CIFARTests {
    static func record(_ label: UInt8, _ fill: UInt8) -> [UInt8] { [label] + [UInt8](repeating: fill, count: 3072) }

    @Test func readsBatches() throws {
        let directory = try TemporaryDirectory()
        try directory.write("data_batch_1.bin", Self.record(3, 10) + Self.record(9, 20))
        try directory.write("data_batch_2.bin", Self.record(0, 30))
        try directory.write("test_batch.bin", Self.record(5, 255))
        let pair = try DatasetCatalog.load(directory.path)
        #expect(pair.train.exampleShape == [3, 32, 32])
        #expect(pair.train.labels == [3, 9, 0])
        #expect(pair.test.labels == [5])
        #expect(pair.train.classNames[3] == "cat")
        #expect(pair.test.floatFeatures().allSatisfy { $0 == 1 })
    }

    @Test func rejectsBadBatches() throws {
        let directory = try TemporaryDirectory()
        let bad = try directory.write("bad.bin", Self.record(12, 0))
        #expect(throws: DataError.self) { try CIFARReader.read(path: bad) }
        let cut = try directory.write("cut.bin", Self.record(1, 0) + [1, 2, 3])
        #expect(throws: DataError.self) { try CIFARReader.read(path: cut) }
    }
}

@Suite struct NamedDatasetTests {
    @Test func loadsMNISTWithDigests() throws {
        let pair = try DatasetCatalog.load("mnist")
        #expect(pair.train.count == 60_000)
        #expect(pair.test.count == 10_000)
        #expect(pair.train.exampleShape == [1, 28, 28])
        #expect(pair.train.labels.prefix(5) == [5, 0, 4, 1, 9])
        #expect(pair.train.classNames == (0..<10).map(String.init))
    }

    @Test func detectsDamagedMNIST() throws {
        let source = try #require(DatasetCatalog.mnistCandidates(environment: [:]).first {
            FileManager.default.fileExists(atPath: $0 + "/t10k-labels-idx1-ubyte.gz")
        })
        let directory = try TemporaryDirectory()
        for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"] {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: directory.path + "/" + name)
        }
        var labels = try IDXReader.readLabels(path: source + "/t10k-labels-idx1-ubyte.gz").bytes
        labels[0] = (labels[0] + 1) % 10
        try directory.write("t10k-labels-idx1-ubyte", FileBytes.idx(rank: 1, dimensions: [labels.count], body: labels))
        do {
            _ = try DatasetCatalog.load("mnist", environment: ["IDZIP_DATA": directory.path])
            Issue.record("damaged file accepted")
        } catch {
            #expect(error.description.contains("t10k-labels-idx1-ubyte"))
            #expect(error.description.contains("SHA-256"))
        }
        // Without the digest check (a plain directory) the same files load.
        #expect(try DatasetCatalog.load(directory.path).test.count == 10_000)
    }

    @Test func saysWhereItLooked() throws {
        let candidates = DatasetCatalog.mnistCandidates(environment: ["IDZIP_DATA": "/nonexistent/data"])
        #expect(candidates.prefix(2) == ["/nonexistent/data", "/nonexistent/data/mnist"])
        #expect(candidates.contains(FileManager.default.currentDirectoryPath + "/samples/mnist"))
        do {
            _ = try DatasetCatalog.load("no-such-set")
            Issue.record("no error")
        } catch { #expect(error.description.contains("no data set named 'no-such-set'")) }
    }

    @Test func fashionMNISTOrInstallHint() throws {
        if FileManager.default.fileExists(atPath: DatasetCatalog.fashionMNISTDirectory + "/t10k-labels-idx1-ubyte.gz") {
            let pair = try DatasetCatalog.load("fashion-mnist")
            #expect(pair.train.count == 60_000)
            #expect(pair.test.classNames[9] == "Ankle boot")
        } else {
            do {
                _ = try DatasetCatalog.load("fashion-mnist")
                Issue.record("no error")
            } catch { #expect(error.description.contains("apt-get install dataset-fashion-mnist")) }
        }
    }
}

@Suite struct VariantTests {
    static func pair() throws -> DatasetPair {
        let count = 50
        let images = (0..<(count * 12)).map { UInt8($0 % 251) }
        let labels = (0..<count).map { Int32($0 % 5) }
        let names = (0..<5).map(String.init)
        let train = try Dataset(features: .bytes(images), exampleShape: [3, 2, 2], labels: labels, classNames: names)
        let test = try Dataset(features: .bytes(Array(images.prefix(120))), exampleShape: [3, 2, 2], labels: Array(labels.prefix(10)), classNames: names)
        return try DatasetPair(name: "toy", train: train, test: test)
    }

    @Test func variantsAreReproducible() throws {
        let pair = try Self.pair()
        let variant = DatasetVariant(shufflePixels: true, shuffleLabels: true, trainingFraction: 0.5, seed: 11)
        let a = try pair.applying(variant), b = try pair.applying(variant)
        #expect(a.train.labels == b.train.labels)
        #expect(a.train.floatFeatures() == b.train.floatFeatures())
        #expect(a.train.count == 25)
        let other = try pair.applying(DatasetVariant(shufflePixels: true, shuffleLabels: true, trainingFraction: 0.5, seed: 12))
        #expect(other.train.labels != a.train.labels || other.train.floatFeatures() != a.train.floatFeatures())
    }

    @Test func pixelsMoveTogetherAcrossChannelsAndSets() throws {
        let pair = try Self.pair()
        let shuffled = try pair.applying(DatasetVariant(shufflePixels: true, seed: 3))
        let permutation = RandomStream(seed: 3, purpose: .pixelPermutation).permutation(count: 4)
        let original = pair.test.floatFeatures(), moved = shuffled.test.floatFeatures()
        for example in 0..<10 {
            for channel in 0..<3 {
                for position in 0..<4 {
                    #expect(moved[example * 12 + channel * 4 + position] == original[example * 12 + channel * 4 + Int(permutation[position])])
                }
            }
        }
        #expect(shuffled.train.labels == pair.train.labels)
    }

    @Test func labelShuffleKeepsClassCounts() throws {
        let pair = try Self.pair()
        let shuffled = try pair.applying(DatasetVariant(shuffleLabels: true, seed: 5))
        #expect(shuffled.train.labels != pair.train.labels)
        #expect(shuffled.train.labels.sorted() == pair.train.labels.sorted())
        #expect(shuffled.test.labels == pair.test.labels)
        #expect(throws: DataError.self) { try pair.applying(DatasetVariant(trainingFraction: 0)) }
    }
}

@Suite struct ValidationSplitTests {
    /// --validation-fraction: a reproducible held-out part of the training set, disjoint from
    /// what training keeps, the same for the same data seed and another for another seed.
    @Test func heldOutExamplesAreReproducibleAndDisjoint() throws {
        let pair = try VariantTests.pair()
        let variant = DatasetVariant(validationFraction: 0.2, seed: 4)
        let a = try pair.applying(variant), b = try pair.applying(variant)
        let validation = try #require(a.validation)
        #expect(validation.count == 10 && a.train.count == 40)
        #expect(b.validation?.labels == validation.labels && b.train.labels == a.train.labels)
        func rows(_ set: Dataset) -> Set<[UInt8]> {
            guard case .bytes(let values) = set.features else { return [] }
            return Set((0..<set.count).map { Array(values[($0 * 12)..<(($0 + 1) * 12)]) })
        }
        #expect(rows(validation).isDisjoint(with: rows(a.train)))
        #expect(rows(validation).union(rows(a.train)) == rows(pair.train))
        let other = try pair.applying(DatasetVariant(validationFraction: 0.2, seed: 5))
        #expect(rows(try #require(other.validation)) != rows(validation))
        #expect(throws: DataError.self) { try pair.applying(DatasetVariant(validationFraction: 0.001, seed: 4)) }
        #expect(pair.validation == nil, "no validation set unless asked")
    }

    /// The summary a model records reads back as the same selection (idzip eval uses it).
    @Test func recordedSummariesReadBack() {
        let selections = [
            DataSelection(name: "mnist"),
            DataSelection(name: "/data/my set (v2)", variant: DatasetVariant(shufflePixels: true, seed: 3)),
            DataSelection(name: "mnist", variant: DatasetVariant(shuffleLabels: true, trainingFraction: 0.1, validationFraction: 0.2, seed: 7)),
        ]
        for selection in selections {
            #expect(DataSelection(recorded: selection.summary) == selection, "\(selection.summary)")
        }
        #expect(DataSelection(recorded: "/data/odd (name)").name == "/data/odd (name)")
    }

    /// --scale/--mean/--std: training fills exactly (raw * scale - mean[c]) / std[c].
    @Test func explicitPreprocessingIsWhatTrainingSees() throws {
        var pair = try VariantTests.pair()
        let preprocessing = try InputPreprocessing(scale: 0.5, mean: [1, 2, 3], standardDeviation: [2, 4, 8]).resolved(for: pair.train)
        pair.train.preprocessing = preprocessing
        var filled = [Float](repeating: 0, count: 12)
        filled.withUnsafeMutableBufferPointer { pair.train.fill(range: 1..<2, into: $0) }
        guard case .bytes(let raw) = pair.train.features else { Issue.record("bytes"); return }
        let expected = (0..<12).map { i in (Float(raw[12 + i]) * 0.5 - [1, 2, 3][i / 4]) / [2, 4, 8][i / 4] }
        #expect(filled == expected)
        #expect(pair.train.trainingPreprocessing == preprocessing)
        #expect(throws: DataError.self) { try InputPreprocessing(mean: [1, 2]).resolved(for: pair.train) }
        #expect(try InputPreprocessing().resolved(for: pair.train) == Preprocessing(inputScale: 1.0 / 255, mean: [0], standardDeviation: [1]))
    }
}
