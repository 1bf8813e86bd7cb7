import Foundation
import IdzipCore
import Testing

struct ContainerRoundTripTests {
    static func roundTrip(_ model: IdzModel) throws -> IdzModel {
        let bytes = try IdzFile.encode(model)
        let decoded = try IdzFile.decode(bytes)
        // Encoding is deterministic.
        #expect(try IdzFile.encode(decoded) == bytes)
        return decoded
    }

    static func model(_ architecture: Architecture, kind: ProjectionKind, d: Int, encoding: ThetaEncoding) throws -> IdzModel {
        let values = (0..<d).map { Float(($0 * 7919) % 2001 - 1000) / 977 }
        return IdzModel(
            architecture: architecture, theta0Seed: 0xFEED_FACE_CAFE_BEEF,
            projection: ProjectionSpec(kind: kind, seed: .max, dimension: d),
            theta: .encode(values, as: encoding),
            weightsSHA256: Array(0..<32)
        )
    }

    @Test(arguments: ThetaEncoding.allCases)
    func fullyConnected(encoding: ThetaEncoding) throws {
        let architecture = Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])
        let model = try Self.model(architecture, kind: .dense, d: 750, encoding: encoding)
        #expect(try Self.roundTrip(model) == model)
        #expect(model.parameterCount == 199_210)
    }

    @Test(arguments: ThetaEncoding.allCases)
    func leNet(encoding: ThetaEncoding) throws {
        var model = try Self.model(.leNet(inputShape: [3, 32, 32]), kind: .fastfood, d: 2900, encoding: encoding)
        model.preprocessing = Preprocessing(inputScale: 1.0 / 255.0, mean: [0.49, 0.48, 0.45], standardDeviation: [0.25, 0.24, 0.26])
        model.labels = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        #expect(try Self.roundTrip(model) == model)
    }

    @Test func toyWithIdentityProjection() throws {
        let model = try TestModels.toyInt8()
        #expect(try Self.roundTrip(model) == model)
        #expect(model.parameterCount == 1000)
    }

    @Test func sparseProjectionAndSamePadding() throws {
        let architecture = Architecture(inputShape: [2, 8, 8], layers: [
            .conv2d(filters: 4, kernel: 3, padding: .same), .relu, .maxPool(size: 3), .flatten, .dense(units: 5),
        ])
        let model = try Self.model(architecture, kind: .sparse, d: 10, encoding: .float32)
        #expect(try Self.roundTrip(model) == model)
    }

    @Test func metadataOfEveryTypeAndLabels() throws {
        var model = try TestModels.smallConv()
        model.metadata += [
            MetadataEntry(key: "min", value: .int(.min)),
            MetadataEntry(key: "max", value: .int(.max)),
            MetadataEntry(key: "tiny", value: .double(.leastNonzeroMagnitude)),
            MetadataEntry(key: "negative zero", value: .double(-0.0)),
            MetadataEntry(key: "infinity", value: .double(-.infinity)),
            MetadataEntry(key: "empty", value: .string("")),
            MetadataEntry(key: "no bytes", value: .bytes([])),
            MetadataEntry(key: "true", value: .bool(true)),
            MetadataEntry(key: "emoji 🧠", value: .string("naïve — 日本語")),
            MetadataEntry(key: "big", value: .bytes(Array(repeating: 7, count: 65536))),
        ]
        model.labels = ["", "a label of \u{0}NUL"]
        let decoded = try Self.roundTrip(model)
        #expect(decoded == model)
        #expect(decoded.metadata["epochs"] == .int(-3))
        #expect(decoded.metadata["min"] == .int(.min))
        #expect(decoded.metadata["absent"] == nil)
        #expect(decoded.metadata.map(\.key) == model.metadata.map(\.key), "order is kept")
        if case .double(let zero) = decoded.metadata["negative zero"] { #expect(zero.sign == .minus) }
    }

    @Test func bareModelHasNoOptionalSections() throws {
        let model = try TestModels.tinyDense()
        #expect(model.labels.isEmpty && model.metadata.isEmpty)
        #expect(try Self.roundTrip(model) == model)
    }

    @Test func fileStartsWithPreamble() throws {
        let bytes = try IdzFile.encode(TestModels.tinyDense())
        #expect(Array(bytes[0..<8]) == [0x89, 0x49, 0x44, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(Array(bytes[8..<16]) == [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(IdzFile.formatVersion == 1)
        let compressed = bytes[16..<24].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(bytes.count == 32 + compressed + 32)
        #expect(Array(bytes.suffix(32)) == IdzChecksum.sha256(Array(bytes.dropLast(32))))
    }

    // MARK: The writer refuses what a reader would reject

    @Test func encoderRejectsInvalidModels() throws {
        let valid = try TestModels.smallConv()
        func kind(_ edit: (inout IdzModel) -> Void) -> IdzError.Kind? {
            var model = valid
            edit(&model)
            do { _ = try IdzFile.encode(model); return nil } catch { return error.kind }
        }
        #expect(kind { _ in } == nil)
        #expect(kind { $0.weightsSHA256 = [1, 2] } == .invalidValue)
        #expect(kind { $0.projection.dimension = 57 } == .invalidValue)
        #expect(kind { $0.projection = ProjectionSpec(kind: .dense, seed: 1, dimension: 1 << 40) } == .limitExceeded)
        #expect(kind { $0.theta = .float32([1]) } == .invalidValue)
        #expect(kind { $0.labels = ["one"] } == .invalidValue)
        #expect(kind { $0.labels = ["a", String(repeating: "x", count: 4097)] } == .limitExceeded)
        #expect(kind { $0.metadata.append($0.metadata[0]) } == .duplicateMetadataKey)
        #expect(kind { $0.metadata = [MetadataEntry(key: "k", value: .string(String(repeating: "x", count: 65537)))] } == .limitExceeded)
        #expect(kind { $0.metadata = (0...4096).map { MetadataEntry(key: "k\($0)", value: .bool(true)) } } == .limitExceeded)
        #expect(kind { $0.architecture.layers.removeAll() } == .invalidArchitecture)
        #expect(kind { $0.preprocessing.standardDeviation = [0] } == .invalidValue)
        #expect(kind { $0.preprocessing.mean = [0, 0] } == .invalidValue)
        #expect(kind { $0.theta = .float32(Array(repeating: .nan, count: 56)) } == .invalidValue)
        #expect(kind { $0.theta = .encode(Array(repeating: 1e6, count: 56), as: .float16) } == .invalidValue)
        // Canonically equivalent but different bytes: distinct keys.
        #expect(kind { $0.metadata = [MetadataEntry(key: "\u{E9}", value: .int(1)), MetadataEntry(key: "e\u{301}", value: .int(2))] } == nil)
    }

    // MARK: Files

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-container-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func writeThenReadLeavesNoTemporaryFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.idz")
        let model = try TestModels.smallConv()
        try IdzFile.write(model, to: url)
        #expect(try IdzFile.read(contentsOf: url) == model)
        // Overwriting replaces the file whole.
        let other = try TestModels.tinyDense()
        try IdzFile.write(other, to: url)
        #expect(try IdzFile.read(contentsOf: url) == other)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.idz"])
    }

    @Test func interruptedWriteLeavesNoDestination() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.idz")
        do {
            let writer = try AtomicFileWriter(destination: url)
            try writer.write(Array(try IdzFile.encode(TestModels.smallConv()).prefix(40)))
            // Dropped without commit(), as if the process stopped mid-write.
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func failedEncodeWritesNothing() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var model = try TestModels.smallConv()
        model.weightsSHA256 = []
        #expect(throws: IdzError.self) { try IdzFile.write(model, to: directory.appendingPathComponent("bad.idz")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func readReportsMissingAndOversizedFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do { _ = try IdzFile.read(contentsOf: directory.appendingPathComponent("absent.idz")); Issue.record("read") } catch { #expect(error.kind == .io) }

        // A sparse file larger than any .idz file: rejected from its size, before reading.
        let huge = directory.appendingPathComponent("huge.idz")
        #expect(FileManager.default.createFile(atPath: huge.path, contents: nil))
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 300 << 20)
        try handle.close()
        do { _ = try IdzFile.read(contentsOf: huge); Issue.record("read") } catch { #expect(error.kind == .limitExceeded, "\(error)") }

        // A directory is not a file.
        do { _ = try IdzFile.read(contentsOf: directory); Issue.record("read a directory") } catch { #expect(error.kind == .io, "\(error)") }
    }

    @Test func writeIntoMissingDirectoryFails() throws {
        let url = URL(fileURLWithPath: "/nonexistent-idzip-directory/model.idz")
        let model = try TestModels.tinyDense()
        do { try IdzFile.write(model, to: url); Issue.record("wrote") } catch { #expect(error.kind == .io) }
    }
}
