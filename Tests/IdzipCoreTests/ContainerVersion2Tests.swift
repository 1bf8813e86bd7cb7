import Foundation
import IdzipCore
import Testing

/// Format version 2 (Formats/idz-v2.md): codebook theta_d and its range coder, the compact
/// layout, and version 1 files unchanged.
struct ContainerVersion2Tests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    static func lenetModel(encoding: ThetaEncoding, d: Int = 231) -> IdzModel {
        let values = (0..<d).map { Float(($0 * 7919) % 2001 - 1000) / 9770 }
        return IdzModel(
            architecture: .leNet(inputShape: [1, 28, 28]), theta0Seed: 7,
            projection: ProjectionSpec(kind: .fastfood, seed: 8, dimension: d),
            theta: .encode(values, as: encoding), preprocessing: Preprocessing(), labels: (0..<10).map(String.init),
            weightsSHA256: Array(0..<32))
    }

    static let profiles: [ContainerProfile] = ContainerProfile.all

    @Test(arguments: ThetaEncoding.allCases, profiles)
    func roundTripEveryEncodingAndProfile(encoding: ThetaEncoding, profile: ContainerProfile) throws {
        let model = Self.lenetModel(encoding: encoding)
        let bytes = try IdzFile.encode(model, profile: profile)
        #expect(try IdzFile.encodedSize(of: model, profile: profile) == bytes.count)
        let decoded = try IdzFile.decode(bytes)
        var expected = model
        expected.weightsSHA256 = Array(model.weightsSHA256.prefix(profile.weightsDigestBytes))
        #expect(decoded == expected)
        #expect(try IdzFile.encode(decoded, profile: profile) == bytes)  // deterministic
        let container = try IdzFile.container(of: bytes)
        #expect(container.profile(of: decoded) == profile)
        let version: UInt32 = profile.layout == .compact || encoding == .codebook ? 2 : 1
        #expect(container.version == version)
        #expect(Array(bytes[8..<12]) == [UInt8(version), 0, 0, 0])
    }

    @Test func compactKeepsEveryFieldThatIsNotTheDefault() throws {
        var model = Self.lenetModel(encoding: .codebook)
        model.architecture = .leNet(inputShape: [3, 32, 32])
        model.preprocessing = Preprocessing(inputScale: 0.5, mean: [0.1, 0.2, 0.3], standardDeviation: [1, 2, 3])
        model.labels = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "ünïcode"]
        model.metadata = [
            MetadataEntry(key: "i", value: .int(.min)), MetadataEntry(key: "x", value: .double(-0.0)),
            MetadataEntry(key: "s", value: .string("text")), MetadataEntry(key: "b", value: .bool(true)),
            MetadataEntry(key: "y", value: .bytes([0, 255])),
        ]
        model.theta0Seed = .max
        model.projection.seed = .max
        for digest in ContainerProfile.allowedDigestBytes {
            let profile = try #require(ContainerProfile.compact(weightsDigestBytes: digest))
            let decoded = try IdzFile.decode(IdzFile.encode(model, profile: profile))
            #expect(decoded.labels == model.labels && decoded.metadata == model.metadata && decoded.preprocessing == model.preprocessing)
            #expect(decoded.theta == model.theta && decoded.theta0Seed == .max && decoded.projection == model.projection)
            #expect(decoded.weightsSHA256 == Array(model.weightsSHA256.prefix(digest)))
        }
    }

    @Test func compactIsSmallerAndDropsNothingTheModelNeeds() throws {
        for encoding in ThetaEncoding.allCases {
            let model = Self.lenetModel(encoding: encoding)
            let standard = try IdzFile.encode(model, profile: .standard).count
            let compact = try IdzFile.encode(model, profile: .compact).count
            #expect(compact < standard, "\(encoding.name): \(compact) vs \(standard)")
        }
    }

    @Test func aModelReadFromACompactFileCannotBeWrittenWithMoreDigestThanItHas() throws {
        let model = try IdzFile.decode(IdzFile.encode(Self.lenetModel(encoding: .int8), profile: .compact))
        #expect(throws: IdzError.self) { try IdzFile.encode(model, profile: .standard) }
        #expect(throws: IdzError.self) { try IdzFile.encode(model, profile: .compact(weightsDigestBytes: 8)!) }
        #expect(try IdzFile.decode(IdzFile.encode(model, profile: .compact)) == model)
    }

    @Test func versionOneFilesAreUnchangedAndStillRead() throws {
        // The committed samples were written before version 2: they decode, and re-encode
        // to the same bytes with the default profile.
        let samples = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Formats/samples").path)
            .filter { $0.hasSuffix(".idz") && !$0.contains("codebook") && !$0.contains("compact") && !$0.hasPrefix("residual") }  // residual-*: version 3
            .filter { !$0.contains("-base-") && !$0.contains("-modes-") }  // version 3 (Formats/idz-v3.md)
        #expect(samples.count >= 5)
        for name in samples {
            let bytes = try [UInt8](Data(contentsOf: Self.root.appendingPathComponent("Formats/samples/\(name)")))
            let model = try IdzFile.decode(bytes)
            #expect(try IdzFile.encode(model) == bytes, "\(name)")
            #expect(try IdzFile.container(of: bytes).version == 1)
        }
        #expect(IdzFile.formatVersion == 1 && IdzFile.latestVersion == 3)
    }

    @Test func aFutureVersionIsRefusedWithOneLine() throws {
        var bytes = try IdzFile.encode(Self.lenetModel(encoding: .codebook), profile: .compact)
        bytes[8] = 4
        let error = try #require(throws: IdzError.self) { try IdzFile.decode(bytes) }
        #expect(error.kind == .unsupportedVersion)
        #expect(error.message == "unsupported .idz version 4 (this idzip reads versions 1 to 3)")
        bytes[8] = 2
        bytes[12] = 9
        #expect(throws: IdzError(.unsupportedFlags, "unknown layout 9 (version 2 defines 0, 1 and 2)")) { try IdzFile.decode(bytes) }
    }

    @Test func codebookTheta() throws {
        let values: [Float] = [0.5, -0.25, 0.5, 0.125, 3, -0.25]
        let stored = StoredTheta.quantize(values, levels: 3)
        guard case .codebook(let levels, let symbols) = stored else { Issue.record("not a codebook"); return }
        #expect(levels.count == 3 && levels == levels.sorted())
        #expect(symbols.count == 6 && stored.decoded().count == 6)
        #expect(StoredTheta.quantize(values, levels: 100) == .codebook(levels: [-0.25, 0.125, 0.5, 3], symbols: [2, 0, 2, 1, 3, 0]))
        #expect(StoredTheta.quantize([], levels: 4) == .codebook(levels: [0], symbols: []))
        #expect(stored.encoding == .codebook && ThetaEncoding(name: "codebook") == .codebook)
        // Rules a file imposes.
        #expect(throws: IdzError.self) { try StoredTheta.codebook(levels: [.nan, 1], symbols: [0]).check(dimension: 1) }
        #expect(throws: IdzError.self) { try StoredTheta.codebook(levels: [1, 2], symbols: [2]).check(dimension: 1) }
        #expect(throws: IdzError.self) { try StoredTheta.codebook(levels: [], symbols: []).check(dimension: 0) }
        #expect(throws: IdzError.self) {
            try StoredTheta.codebook(levels: [Float](repeating: 1, count: 4097), symbols: [0]).check(dimension: 1)
        }
        try StoredTheta.codebook(levels: [1, 2], symbols: [1, 0]).check(dimension: 2)
    }

    // MARK: The range coder

    struct Vector: Decodable {
        var name: String
        var levels: Int
        var symbols: [UInt16]?
        var coded_hex: String?
        var count: Int?
        var coded_bytes: Int?
        var coded_sha256: String?
    }

    struct Vectors: Decodable { var vectors: [Vector] }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func rangeCoderVectorsOfTheSpec() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("Formats/test-vectors/range-coder.json"))
        let vectors = try JSONDecoder().decode(Vectors.self, from: data).vectors
        #expect(vectors.count >= 8)
        for vector in vectors {
            if let symbols = vector.symbols, let coded = vector.coded_hex {
                let bytes = RangeCoder.encode(symbols, alphabetSize: vector.levels)
                #expect(Self.hex(bytes) == coded, "\(vector.name)")
                #expect(try RangeCoder.decode(bytes[...], count: symbols.count, alphabetSize: vector.levels) == symbols)
            } else if let count = vector.count {
                let symbols = (0..<count).map { UInt16($0 % 10 == 0 ? 2 : $0 % 3 == 0 ? 1 : 0) }
                let bytes = RangeCoder.encode(symbols, alphabetSize: vector.levels)
                #expect(bytes.count == vector.coded_bytes)
                #expect(Self.hex(IdzChecksum.sha256(bytes)) == vector.coded_sha256)
                #expect(try RangeCoder.decode(bytes[...], count: count, alphabetSize: vector.levels) == symbols)
            }
        }
    }

    @Test func rangeCoderRoundTripsAndIsCanonical() throws {
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for trial in 0..<200 {
            let k = Int(next() % 64) + 1
            let n = Int(next() % 500)
            let skew = Int(next() % 4)
            let symbols = (0..<n).map { _ in UInt16(min(UInt64(k - 1), (next() % UInt64(k)) >> UInt64(skew))) }
            let bytes = RangeCoder.encode(symbols, alphabetSize: k)
            #expect(try RangeCoder.decode(bytes[...], count: n, alphabetSize: k) == symbols, "trial \(trial)")
            #expect(bytes.last != 0)
            // Only the encoder's bytes decode to these symbols: a zero byte more is refused,
            // other bytes more are refused or decode to other symbols (canonical coding).
            #expect(throws: IdzError.self) { try RangeCoder.decode((bytes + [0])[...], count: n, alphabetSize: k) }
            #expect((try? RangeCoder.decode((bytes + [7, 7, 7, 7, 7])[...], count: n, alphabetSize: k)) != symbols)
            if let last = bytes.last, last < 0xFF {
                var other = bytes
                other[other.count - 1] = last + 1
                #expect((try? RangeCoder.decode(other[...], count: n, alphabetSize: k)) != symbols)
            }
        }
    }

    @Test func hostileStreamsStopAtTheirEnd() throws {
        // Any bytes decode to `count` symbols or throw, reading nothing past the end.
        #expect(throws: IdzError.self) { try RangeCoder.decode([0xFF, 0xFF, 0xFF, 0xFF][...], count: 1, alphabetSize: 3) }
        #expect(throws: IdzError.self) { try RangeCoder.decode([][...], count: 1, alphabetSize: 0) }
        #expect(throws: IdzError.self) { try RangeCoder.decode([][...], count: 1, alphabetSize: 4097) }
        let many = try RangeCoder.decode([][...], count: 1_000_000, alphabetSize: 4096)
        #expect(many.count == 1_000_000 && many.allSatisfy { $0 == 0 })
    }
}
