import Foundation
import IdzipCore
import Testing

/// `idzip compress` end to end on a small network and 20% of MNIST (seconds).
struct CompressCommandTests {
    static let base = [
        "compress", "--model", "fc:784-16-10", "--data", "mnist", "--train-fraction", "0.2", "--validation-fraction", "0.2",
        "--epochs", "4", "--levels", "8,16", "--search", "32-128", "--resolution", "32", "--threads", "2",
    ]

    /// 1234 as "1,234", as the tool prints it.
    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        return String(digits.enumerated().flatMap { index, digit in
            index > 0 && (digits.count - index) % 3 == 0 ? [",", digit] : [digit]
        })
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func findsWritesAndResumes() throws {
        let directory = try TemporaryDirectory()
        let arguments = Self.base + ["--target-accuracy", "0.4", "--out", "c", "-o", "small.idz", "--json"]
        let first = try CommandRunner.run(arguments, in: directory.url)
        #expect(first.status == 0, "\(first.standardError)")
        let summary = try Self.json(first.standardOutput)
        let chosen = try #require(summary["smallest_passing"] as? [String: Any])
        let bytes = try #require(chosen["bytes"] as? Int)
        let test = try #require(chosen["test_accuracy"] as? Double)
        #expect((chosen["validation_accuracy"] as? Double ?? 0) >= 0.4)
        let front = try #require(summary["pareto_front"] as? [[String: Any]])
        #expect(!front.isEmpty)
        let sizes = front.compactMap { $0["bytes"] as? Int }
        let accuracies = front.compactMap { $0["test_accuracy"] as? Double }
        #expect(sizes == sizes.sorted() && accuracies == accuracies.sorted(), "the front rises with size")

        // The written model is the chosen file, byte for byte, and `idzip eval` agrees.
        let written = try Data(contentsOf: directory.file("small.idz"))
        #expect(written.count == bytes)
        let model = try IdzFile.read(contentsOf: directory.file("small.idz"))
        #expect(model.projection.dimension == chosen["d"] as? Int)
        #expect(Set(model.theta.decoded()).count <= (chosen["levels"] as? Int ?? 0))
        let eval = try CommandRunner.run(["eval", "small.idz", "--data", "mnist", "--json"], in: directory.url)
        #expect(eval.status == 0, "\(eval.standardError)")
        #expect(try Self.json(eval.standardOutput)["accuracy"] as? Double == test)

        let out = directory.url.appendingPathComponent("c")
        for name in ["settings.txt", "results.json", "summary.json", "plot.svg"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
        }
        let svg = try String(contentsOf: out.appendingPathComponent("plot.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("class=\"front\"") && svg.contains("class=\"chosen\""))

        // Again: every run is reused, nothing trained, the same answer.
        let second = try CommandRunner.run(arguments, in: directory.url)
        #expect(second.status == 0, "\(second.standardError)")
        #expect(!second.standardError.contains("] d"), "nothing retrained: \(second.standardError)")
        let again = try #require(try Self.json(second.standardOutput)["smallest_passing"] as? [String: Any])
        #expect(again["bytes"] as? Int == bytes && again["test_accuracy"] as? Double == test)

        // Other training settings in the same directory are refused.
        let other = try CommandRunner.run(arguments.map { $0 == "4" ? "5" : $0 }, in: directory.url)
        #expect(other.status == 1 && other.standardError.contains("other settings"), "\(other.standardError)")

        // The text report: a table and the written file.
        let text = try CommandRunner.run(Array(arguments.dropLast()), in: directory.url)
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("Pareto front") && text.standardOutput.contains("<- smallest passing")
            && text.standardOutput.contains("wrote small.idz: \(Self.grouped(bytes)) bytes"), "\(text.standardOutput)")
    }

    @Test(arguments: [
        ([] as [String], "give a target"),
        (["--target-accuracy", "0.9", "--target-fraction", "0.9"], "not both"),
        (["--target-accuracy", "1.5"], "--target-accuracy must be"),
        (["--target-accuracy", "0.9", "--levels", "1"], "--levels must be"),
        (["--target-accuracy", "0.9", "--levels", "8,x"], "--levels must be"),
        (["--target-accuracy", "0.9", "--quantizer", "magic"], "not a quantizer"),
        (["--target-accuracy", "0.9", "--model", "toy"], "needs a data set"),
        (["--target-accuracy", "0.9", "--search", "10-999999999"], "--search must end"),
    ])
    func refusesBadOptions(extra: [String], message: String) throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(
            ["compress", "--model", "fc:784-16-10", "--out", "c", "-o", "m.idz"] + extra, in: directory.url)
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("c").path), "nothing created")
    }

    /// `-o` inside `--out` would overwrite a candidate the resume state describes.
    @Test func refusesAnOutputInsideTheDirectory() throws {
        let directory = try TemporaryDirectory()
        for output in ["c/models/d10-k8-s1-compact.idz", "c/m.idz", "./c/../c/x.idz"] {
            let result = try CommandRunner.run(["compress", "--target-accuracy", "0.9", "--out", "c", "-o", output], in: directory.url)
            #expect(result.status == 64 && result.standardError.contains("inside --out"), "\(output): \(result.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("c").path), "nothing created")
    }

    @Test func refusesAnOutputThatIsNotIdz() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(["compress", "--target-accuracy", "0.9", "--out", "c", "-o", "m.safetensors"], in: directory.url)
        #expect(result.status == 64 && result.standardError.contains(".idz"), "\(result.standardError)")
    }
}
