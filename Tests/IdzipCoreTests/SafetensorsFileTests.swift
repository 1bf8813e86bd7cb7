import Foundation
import IdzipCore
import Testing

/// One bad (or good) safetensors file and the error kind the reader must raise (nil: valid).
struct SafetensorsCase: Sendable {
    var name: String
    var bytes: [UInt8]
    var expected: SafetensorsError.Kind?
}

/// The corpus of Fixtures/hostile-safetensors: every way a safetensors file can be wrong
/// that the reader must catch. Regenerate with
/// IDZIP_WRITE_HOSTILE_SAFETENSORS=1 swift test --filter SafetensorsFileTests.
enum SafetensorsCorpus {
    static func file(_ json: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        file(Array(json.utf8), data: data, declaredLength: declaredLength)
    }

    static func file(_ header: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let length = declaredLength ?? UInt64(header.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + header + data
    }

    static func tensorEntry(_ name: String, _ shape: [Int], _ start: Int, _ end: Int, dtype: String = "F32") -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(start),\(end)]}"
    }

    static func cases() -> [SafetensorsCase] {
        var cases: [SafetensorsCase] = []
        func add(_ name: String, _ expected: SafetensorsError.Kind?, _ bytes: [UInt8]) {
            cases.append(SafetensorsCase(name: name, bytes: bytes, expected: expected))
        }
        let sixteen = [UInt8](repeating: 0x3F, count: 16)
        let twoTensors = "{\"__metadata__\":{\"format\":\"pt\"}," + tensorEntry("a", [2], 0, 8) + "," + tensorEntry("b", [2], 8, 16) + "}"

        add("valid-two-tensors.safetensors", nil, file(twoTensors, data: sixteen))
        add("valid-no-tensors.safetensors", nil, file("{}  "))
        add("valid-empty-tensor.safetensors", nil, file("{" + tensorEntry("a", [0, 3], 0, 0) + "," + tensorEntry("b", [4], 0, 16) + "}", data: sixteen))

        // Lengths.
        add("empty.safetensors", .truncated, [])
        add("truncated-header-length.safetensors", .truncated, [8, 0, 0, 0])
        add("truncated-header.safetensors", .truncated, Array(file(twoTensors, data: sixteen).prefix(40)))
        add("header-length-2e60.safetensors", .headerTooLarge, file(twoTensors, data: sixteen, declaredLength: 1 << 60))
        add("header-length-max-uint64.safetensors", .headerTooLarge, file(twoTensors, data: sixteen, declaredLength: .max))

        // The JSON header.
        add("header-not-json.safetensors", .invalidHeader, file("hello world"))
        add("header-json-array.safetensors", .invalidHeader, file("[1, 2]"))
        add("header-trailing-garbage.safetensors", .invalidHeader, file("{} x"))
        add("header-invalid-utf8.safetensors", .invalidHeader,
            file(Array("{\"a".utf8) + [0xFF, 0xFE] + Array("\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}".utf8), data: sixteen))
        add("header-nested-200-deep.safetensors", .invalidHeader, file("{\"__metadata__\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"))
        add("metadata-not-strings.safetensors", .invalidHeader, file("{\"__metadata__\":{\"epochs\":5}}"))
        add("tensor-missing-offsets.safetensors", .invalidHeader, file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", data: sixteen))
        add("duplicate-tensor-name.safetensors", .duplicateName, file("{" + tensorEntry("a", [2], 0, 8) + "," + tensorEntry("a", [2], 8, 16) + "}", data: sixteen))

        // Each tensor.
        add("unknown-dtype.safetensors", .unknownDtype, file("{" + tensorEntry("a", [4], 0, 16, dtype: "F33") + "}", data: sixteen))
        add("negative-dimension.safetensors", .invalidShape, file("{" + tensorEntry("a", [-4], 0, 16) + "}", data: sixteen))
        add("shape-2e40-elements.safetensors", .invalidShape, file("{" + tensorEntry("a", [1 << 20, 1 << 20], 0, 16) + "}", data: sixteen))
        add("shape-size-mismatch.safetensors", .sizeMismatch, file("{" + tensorEntry("a", [3], 0, 16) + "}", data: sixteen))
        add("dtype-size-mismatch.safetensors", .sizeMismatch, file("{" + tensorEntry("a", [4], 0, 16, dtype: "F16") + "}", data: sixteen))
        add("offsets-past-end.safetensors", .offsetsOutOfBounds, file("{" + tensorEntry("a", [4], 0, 16) + "," + tensorEntry("b", [2], 16, 24) + "}", data: sixteen))
        add("offsets-negative.safetensors", .offsetsOutOfBounds, file("{" + tensorEntry("a", [4], -16, 0) + "}", data: sixteen))
        add("offsets-reversed.safetensors", .offsetsOutOfBounds, file("{" + tensorEntry("a", [4], 16, 0) + "}", data: sixteen))
        add("offsets-2e70.safetensors", .offsetsOutOfBounds, file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1180591620717411303424]}}", data: sixteen))

        // The tensors together tile the data buffer.
        add("gap-between-tensors.safetensors", .notTiled, file("{" + tensorEntry("a", [1], 0, 4) + "," + tensorEntry("b", [2], 8, 16) + "}", data: sixteen))
        add("overlapping-tensors.safetensors", .notTiled, file("{" + tensorEntry("a", [3], 0, 12) + "," + tensorEntry("b", [2], 8, 16) + "}", data: sixteen))
        add("same-bytes-twice.safetensors", .notTiled, file("{" + tensorEntry("a", [4], 0, 16) + "," + tensorEntry("b", [4], 0, 16) + "}", data: sixteen))
        add("first-tensor-not-at-0.safetensors", .notTiled, file("{" + tensorEntry("a", [3], 4, 16) + "}", data: sixteen))
        add("trailing-bytes.safetensors", .notTiled, file(twoTensors, data: sixteen + [0, 0, 0, 0]))
        return cases
    }

    static let directory = RepositoryFiles.url("Tests/IdzipCoreTests/Fixtures/hostile-safetensors")

    static func manifest() throws -> [(name: String, expected: String)] {
        let text = try String(contentsOf: directory.appendingPathComponent("MANIFEST"), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: " ")
            return (String(fields[0]), String(fields[1]))
        }
    }
}

struct SafetensorsFileTests {
    static func kind(_ bytes: [UInt8]) -> SafetensorsError.Kind? {
        do {
            _ = try SafetensorsFile(data: Data(bytes))
            return nil
        } catch {
            return error.kind
        }
    }

    @Test func generatedCasesRaiseTheirErrors() {
        for item in SafetensorsCorpus.cases() {
            #expect(Self.kind(item.bytes) == item.expected, "\(item.name)")
        }
    }

    /// The committed corpus equals the generated one and every file raises its listed kind.
    @Test func committedCorpusMatches() throws {
        let cases = SafetensorsCorpus.cases()
        if ProcessInfo.processInfo.environment["IDZIP_WRITE_HOSTILE_SAFETENSORS"] == "1" {
            try FileManager.default.createDirectory(at: SafetensorsCorpus.directory, withIntermediateDirectories: true)
            var manifest = "# file expected-error-kind (ok: valid). Regenerate: IDZIP_WRITE_HOSTILE_SAFETENSORS=1 swift test --filter SafetensorsFileTests\n"
            for item in cases {
                try Data(item.bytes).write(to: SafetensorsCorpus.directory.appendingPathComponent(item.name))
                manifest += "\(item.name) \(item.expected?.rawValue ?? "ok")\n"
            }
            try Data(manifest.utf8).write(to: SafetensorsCorpus.directory.appendingPathComponent("MANIFEST"))
        }
        let manifest = try SafetensorsCorpus.manifest()
        #expect(manifest.map(\.name) == cases.map(\.name))
        #expect(Set(manifest.map(\.expected)).isSuperset(of: SafetensorsError.Kind.allCases
            .filter { ![.missingTensor, .wrongTensor, .io].contains($0) }.map(\.rawValue)), "every reader kind has a file")
        for (name, expected) in manifest {
            let bytes = try [UInt8](Data(contentsOf: SafetensorsCorpus.directory.appendingPathComponent(name)))
            #expect(Self.kind(bytes)?.rawValue ?? "ok" == expected, "\(name)")
            #expect(cases.first { $0.name == name }?.bytes == bytes, "\(name) is the generated file")
        }
    }

    @Test func everyKindHasAOneLineDescriptionAndMessage() {
        for item in SafetensorsCorpus.cases() {
            do {
                _ = try SafetensorsFile(data: Data(item.bytes))
            } catch {
                #expect(!error.description.isEmpty && !error.description.contains("\n"), "\(item.name)")
            }
        }
    }

    @Test func readsTheValidFile() throws {
        let file = try SafetensorsFile(data: Data(SafetensorsCorpus.cases()[0].bytes))
        #expect(file.metadata == ["format": "pt"])
        let b = try #require(file.tensors["b"])
        #expect(b.dtype == "F32" && b.shape == [2] && b.byteRange == 8..<16)
        #expect(try file.float32("a", shape: [2]) == [Float](repeating: Float(bitPattern: 0x3F3F_3F3F), count: 2))
        #expect(throws: SafetensorsError(.missingTensor, "no tensor named \"c\"")) { try file.float32("c", shape: [2]) }
        let wrongShape = #expect(throws: SafetensorsError.self) { try file.float32("a", shape: [3]) }
        #expect(wrongShape?.kind == .wrongTensor)
    }

    /// The writer records the architecture whoever calls it, and the reader returns theta.
    @Test func writerRecordsTheArchitecture() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let architecture = try Architecture(spec: "fc:20-7-3")
        let count = try architecture.parameterCount()
        let theta = (0..<count).map { Float($0) * 0.25 - 3 }

        let url = directory.appendingPathComponent("w.safetensors")
        try SafetensorsWriter.write(theta, architecture: architecture, metadata: [("format", "pt"), ("idzip.architecture", "lenet")], to: url)
        let file = try SafetensorsFile(contentsOf: url)
        #expect(file.metadata == ["format": "pt", "idzip.architecture": "fc:20-7-3"], "a caller's wrong value is replaced")
        #expect(try file.parameters(for: architecture) == theta)

        let plain = directory.appendingPathComponent("plain.safetensors")
        try SafetensorsWriter.write(theta, architecture: architecture, to: plain)
        #expect(try SafetensorsFile(contentsOf: plain).metadata == ["idzip.architecture": "fc:20-7-3"])
        let wrongCount = #expect(throws: SafetensorsError.self) { try SafetensorsWriter.write([1, 2], architecture: architecture, to: plain) }
        #expect(wrongCount?.kind == .wrongTensor)

        // Expansion writes through the same writer.
        let model = try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/fc-dense-d100.idz"))
        let expanded = directory.appendingPathComponent("expanded.safetensors")
        try ModelExpansion.write(model, to: expanded, format: .safetensors, metadata: [("format", "pt")], threads: 2)
        let expandedFile = try SafetensorsFile(contentsOf: expanded)
        let spec = try #require(model.architecture.spec)
        #expect(expandedFile.metadata["idzip.architecture"] == spec)
        #expect(try expandedFile.parameters(for: model.architecture) == ModelExpansion.weights(of: model))
    }
}
