import Foundation
import IdzipCore
import Testing

struct ExpandCommandTests {
    @Test(arguments: ["fastfood", "sparse", "dense"])
    func createInspectExpand(projection: String) throws {
        let directory = try TemporaryDirectory()
        let create = try CommandRunner.run(
            ["create", "--model", "fc:64-16-10", "--projection", projection, "--dim", "20", "--theta-scale", "0.1", "-o", "m.idz"],
            in: directory.url)
        #expect(create.status == 0, "\(create.standardError)")

        let info = try CommandRunner.run(["info", "--json", "m.idz"], in: directory.url)
        #expect(info.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(info.standardOutput.utf8)) as? [String: Any])
        #expect(json["parameters"] as? Int == 64 * 16 + 16 + 16 * 10 + 10)
        let projectionInfo = try #require(json["projection"] as? [String: Any])
        #expect(projectionInfo["kind"] as? String == projection)
        #expect(projectionInfo["d"] as? Int == 20)

        let expand = try CommandRunner.run(["expand", "m.idz", "-o", "w.safetensors", "--json"], in: directory.url)
        #expect(expand.status == 0, "\(expand.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(expand.standardOutput.utf8)) as? [String: Any])
        #expect(report["weights_sha256"] as? String == json["weights_sha256"] as? String)
        #expect(report["verified"] as? Bool == true)

        // The file holds the library's expansion, after the safetensors header.
        let model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        let weights = try ModelExpansion.weights(of: model)
        let bytes = try Data(contentsOf: directory.file("w.safetensors"))
        let headerLength = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let body = bytes.dropFirst(8 + headerLength)
        #expect(body.count == weights.count * 4)
        let stored = body.withUnsafeBytes { raw in (0..<weights.count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        #expect(stored == weights)
        #expect(directory.contents == ["m.idz", "w.safetensors"])
    }

    @Test func npyOutputAndDefaultName() throws {
        let directory = try TemporaryDirectory()
        _ = try CommandRunner.run(["create", "--model", "toy", "--dim", "10", "--theta-scale", "1", "-o", "toy.idz"], in: directory.url)
        let npy = try CommandRunner.run(["expand", "toy.idz", "--format", "npy"], in: directory.url)
        #expect(npy.status == 0, "\(npy.standardError)")
        #expect(directory.contents == ["toy.idz", "toy.npy", "toy.npy.json"], "the vector and its sidecar")
        let bytes = try Data(contentsOf: directory.file("toy.npy"))
        #expect(bytes.starts(with: [0x93] + Array("NUMPY".utf8)))
        #expect((bytes.count - 1000 * 4) % 64 == 0)
    }

    @Test func checksumMismatchLeavesNoOutput() throws {
        let directory = try TemporaryDirectory()
        _ = try CommandRunner.run(["create", "--model", "fc:8-4-2", "--dim", "5", "--theta-scale", "1", "-o", "m.idz"], in: directory.url)
        var model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        model.weightsSHA256[0] ^= 1
        try IdzFile.write(model, to: directory.file("bad.idz"))
        let result = try CommandRunner.run(["expand", "bad.idz", "-o", "w.safetensors"], in: directory.url)
        #expect(result.status == 1)
        #expect(result.standardError.contains("do not match the file's checksum"))
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(directory.contents == ["bad.idz", "m.idz"])
    }

    @Test func badInputGetsOneLineAndNonZeroStatus() throws {
        let directory = try TemporaryDirectory()
        try Data("this is not a model".utf8).write(to: directory.file("text.idz"))
        try Data().write(to: directory.file("empty.idz"))
        let cases: [([String], Int32)] = [
            (["expand", "missing.idz"], 1),
            (["expand", "text.idz", "-o", "w.safetensors"], 1),
            (["expand", "empty.idz", "-o", "w.safetensors"], 1),
            (["info", "text.idz"], 1),
            (["expand", "text.idz", "-o", "w.bin"], 64),
            (["info"], 64),
            (["info", "--no-such-option", "text.idz"], 64),
            (["create", "--model", "fc:8-4-2", "-o", "x.idz"], 64),
            (["create", "--model", "resnet", "--dim", "3", "-o", "x.idz"], 64),
            (["create", "--model", "fc:8-4-2", "--dim", "500", "-o", "x.idz"], 64),
            (["create", "--model", "fc:8-4-2", "--dim", "3", "--projection", "gaussian", "-o", "x.idz"], 64),
            (["create", "--model", "fc:8-4-2", "--dim", "3", "-o", "no/such/dir/x.idz"], 1),
        ]
        for (arguments, status) in cases {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == status, "\(arguments): \(result.standardError)")
            let lines = result.standardError.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See") && !$0.hasPrefix("Help:") }
            #expect(lines.count == 1, "\(arguments): \(result.standardError)")
        }
        #expect(directory.contents == ["empty.idz", "text.idz"])
    }

    @Test func helpListsTheCommands() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(["--help"], in: directory.url)
        #expect(result.status == 0)
        for command in ["create", "expand", "info"] {
            #expect(result.standardOutput.contains(command))
        }
    }
}
