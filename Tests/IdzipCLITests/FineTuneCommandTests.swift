import Foundation
import IdzipCore
import Testing

/// `idzip train --base` and every reader's `--base` end to end (issue 13): a directly
/// trained base, a subspace fine-tuned from it with SAID scales and direct biases, and the
/// base digest checked everywhere (Formats/idz-v3.md sections 6 and 7).
struct FineTuneCommandTests {
    static let small = ["--data", "mnist", "--train-fraction", "0.05", "--batch-size", "64"]

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func idzip(_ arguments: [String], in directory: TemporaryDirectory) throws -> CommandRunner.Result {
        try CommandRunner.run(arguments, in: directory.url)
    }

    @Test func aBaseThatIsNotARegularFileIsRefusedInOneLineWithoutBlocking() throws {
        let directory = try TemporaryDirectory()
        #expect(mkfifo(directory.file("fifo.safetensors").path, 0o600) == 0)
        #expect(mkfifo(directory.file("fifo.idz").path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: directory.file("zero.safetensors").path, withDestinationPath: "/dev/zero")
        try FileManager.default.createDirectory(at: directory.file("folder.idz"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(at: directory.file("folder.safetensors"), withIntermediateDirectories: false)
        let before = directory.contents
        for (base, kind) in [
            ("fifo.safetensors", "a FIFO"), ("fifo.idz", "a FIFO"), ("zero.safetensors", "a character device"),
            ("folder.idz", "a directory"), ("folder.safetensors", "a directory"),
        ] {
            for command in [
                ["train", "--base", base] + Self.small + ["--dim", "20", "--epochs", "1", "-o", "t.idz"],
                ["train", "--base", base, "--model", "fc:784-32-10"] + Self.small + ["--dim", "20", "--epochs", "1", "-o", "t.idz"],
            ] {
                let result = try idzip(command, in: directory)
                #expect(result.status == 1, "\(command): \(result.status) \(result.standardError)")
                #expect(result.standardError.split(separator: "\n").count == 1, "\(command): \(result.standardError)")
                #expect(result.standardError.contains("/\(base): it is \(kind), not a regular file"), "\(command): \(result.standardError)")
                #expect(!result.standardError.contains("permission") && !result.standardError.contains("NSCocoaErrorDomain"))
            }
        }
        #expect(directory.contents == before, "nothing written: \(directory.contents)")
    }

    @Test func fineTuneFromABaseAndReadItBackEverywhere() throws {
        let directory = try TemporaryDirectory()
        // The base: fc:784-32-10 trained directly, as safetensors (its metadata names the architecture).
        var result = try idzip(["train", "--model", "fc:784-32-10"] + Self.small + ["--epochs", "1", "-o", "base.safetensors"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        // Fine-tuned in a subspace: no --model (the base's), scales, biases direct.
        result = try idzip(
            ["train", "--base", "base.safetensors"] + Self.small
                + ["--dim", "100", "--epochs", "1", "--tensor-scales", "--tensor-mode", "bias=direct", "-o", "ft.idz", "--json"],
            in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        let accuracy = try #require(try Self.json(result.standardOutput)["test_accuracy"] as? Double)
        #expect(directory.contents == ["base.safetensors", "ft.idz"])
        let (model, container) = try IdzFile.readWithContainer(contentsOf: directory.file("ft.idz"))
        #expect(container.version == 3)
        #expect(model.base?.locator == "base.safetensors")
        #expect(model.tensorModes?.scales?.count == 2 && model.tensorModes?.directValues.count == 42)

        // info needs no base and shows its digest, locator and modes.
        result = try idzip(["info", "ft.idz"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("theta0         base sha256 \(hexString(model.base!.sha256)) (base.safetensors); expanding needs --base"))
        #expect(result.standardOutput.contains("tensor modes   subspace 2, direct 2 (42 values), frozen 0, 2 scales; 144 numbers stored"))
        result = try idzip(["info", "ft.idz", "--base", "base.safetensors"], in: directory)
        #expect(result.status == 0 && result.standardOutput.contains("verified"), "\(result.standardError)")

        // eval with the base gives what train recorded; expand, predict and export take it too.
        result = try idzip(["eval", "ft.idz", "--base", "base.safetensors", "--data", "mnist", "--json"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try Self.json(result.standardOutput)["accuracy"] as? Double == accuracy)
        result = try idzip(["expand", "ft.idz", "--base", "base.safetensors", "-o", "ft.safetensors"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        result = try idzip(["eval", "ft.safetensors", "--data", "mnist", "--json"], in: directory)
        #expect(try Self.json(result.standardOutput)["accuracy"] as? Double == accuracy)
        result = try idzip(["export", "ft.idz", "--base", "base.safetensors", "--format", "c", "-o", "ft.h"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")

        // Without the base, or with another one: one line, non-zero, nothing written.
        result = try idzip(["expand", "ft.idz", "-o", "none.safetensors"], in: directory)
        #expect(result.status != 0)
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(result.standardError.contains("is fine-tuned from a base (sha256 \(hexString(model.base!.sha256)) (base.safetensors)); give it with --base FILE"))
        result = try idzip(["train", "--model", "fc:784-32-10"] + Self.small + ["--epochs", "1", "--seed", "2", "-o", "other.safetensors"], in: directory)
        #expect(result.status == 0)
        for command in [["eval", "ft.idz", "--data", "mnist"], ["expand", "ft.idz", "-o", "x.npy"], ["predict", "ft.idz", "x.png"], ["info", "ft.idz"]] {
            result = try idzip(command + ["--base", "other.safetensors"], in: directory)
            #expect(result.status != 0, "\(command)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("wrong base: the model was fine-tuned from sha256 \(hexString(model.base!.sha256)), the base given has sha256 "), "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("none.safetensors").path))
        #expect(!FileManager.default.fileExists(atPath: directory.file("x.npy").path))
        // A base for a model without one, and modes without --dim, are refused.
        result = try idzip(["train", "--model", "fc:784-32-10"] + Self.small + ["--dim", "50", "--epochs", "1", "-o", "plain.idz"], in: directory)
        #expect(result.status == 0)
        result = try idzip(["expand", "plain.idz", "--base", "base.safetensors"], in: directory)
        #expect(result.status != 0 && result.standardError.contains("not fine-tuned from a base"))
        result = try idzip(["train", "--base", "base.safetensors", "--tensor-scales", "-o", "bad.idz"] + Self.small, in: directory)
        #expect(result.status != 0 && result.standardError.contains("give --dim"))
        result = try idzip(["train", "--base", "base.safetensors", "--dim", "50", "--container", "compact", "-o", "bad.idz"] + Self.small, in: directory)
        #expect(result.status != 0 && result.standardError.contains("compact"))

        // An output that is the base is refused before anything is written (train, expand, export).
        let baseBytes = try Data(contentsOf: directory.file("base.safetensors"))
        for command in [
            ["train", "--base", "base.safetensors", "--epochs", "1", "-o", "base.safetensors"] + Self.small,  // direct training from the base
            ["expand", "ft.idz", "--base", "base.safetensors", "-o", "base.safetensors"],
            ["export", "ft.idz", "--base", "base.safetensors", "--format", "onnx", "-o", "base.safetensors"],
        ] {
            result = try idzip(command, in: directory)
            #expect(result.status != 0 && result.standardError.contains("is the input base.safetensors"), "\(command): \(result.standardError)")
        }
        #expect(try Data(contentsOf: directory.file("base.safetensors")) == baseBytes)
        // A --tensor-mode pattern that matches no tensor is refused before training; a pattern
        // of many stars is matched at once (not in exponential time).
        result = try idzip(["train", "--base", "base.safetensors", "--dim", "50", "--epochs", "1", "--tensor-mode", "nomatch=direct", "-o", "nm.idz"] + Self.small, in: directory)
        #expect(result.status == 64 && result.standardError.contains("'nomatch' matches no tensor"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("nm.idz.checkpoint").path))
        let stars = String(repeating: "*", count: 40)
        result = try idzip(["train", "--base", "base.safetensors", "--dim", "50", "--epochs", "1", "--tensor-mode", stars + "a=direct", "-o", "st.idz"] + Self.small, in: directory)
        #expect(result.status == 64 && result.standardError.contains("matches no tensor"), "\(result.standardError)")
    }
}
