import Foundation
import IdzipCore
import Testing

/// `idzip train --env`, `idzip eval --env` and `idzip sweep --env` end to end on tiny budgets.
struct ReinforcementCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static let tiny = ["--env", "cartpole", "--steps", "2000", "--eval-every", "1000", "--eval-episodes", "5"]

    @Test func trainThenEvaluate() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(
            ["train"] + Self.tiny + ["--algorithm", "dqn", "-d", "8", "--projection", "dense", "--seed", "4", "-o", "p.idz", "--json"],
            in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let summary = try Self.json(train.standardOutput)
        #expect(summary["environment"] as? String == "cartpole" && summary["algorithm"] as? String == "dqn")
        #expect(summary["model"] as? String == "fc:4-64-64-2" && summary["d"] as? Int == 8 && summary["episodes"] as? Int == 5)
        let mean = try #require(summary["return_mean"] as? Double)
        #expect(train.standardError.contains("step 2,000/2,000"))
        #expect(directory.contents == ["p.idz"])

        let model = try IdzFile.read(contentsOf: directory.file("p.idz"))
        #expect(model.metadata["environment"] == .string("cartpole") && model.metadata["algorithm"] == .string("dqn"))
        #expect(model.metadata["return.mean"] == .double(mean))
        #expect(model.projection.kind == .dense && model.projection.dimension == 8)

        // The training's evaluation episodes are those of seed = the training seed: the same returns.
        let same = try CommandRunner.run(["eval", "p.idz", "--env", "cartpole", "--episodes", "5", "--seed", "4", "--json"], in: directory.url)
        #expect(same.status == 0, "\(same.standardError)")
        #expect(try Self.json(same.standardOutput)["mean"] as? Double == mean)

        // 100 episodes by default, the environment the file records, text and JSON alike.
        let recorded = try CommandRunner.run(["eval", "p.idz", "--threads", "1"], in: directory.url)
        #expect(recorded.status == 0, "\(recorded.standardError)")
        #expect(recorded.standardError.contains("evaluating in cartpole"))
        #expect(recorded.standardOutput.contains("over 100 episodes"))
        let report = try Self.json(try CommandRunner.run(["eval", "p.idz", "--env", "cartpole", "--json"], in: directory.url).standardOutput)
        #expect((report["returns"] as? [Double])?.count == 100)
        let low = try #require(report["min"] as? Double), high = try #require(report["max"] as? Double)
        let average = try #require(report["mean"] as? Double), spread = try #require(report["std"] as? Double)
        #expect(low <= average && average <= high && spread >= 0 && low >= 1 && high <= 500)
        #expect(recorded.standardOutput.contains(String(format: "return %.2f", average)), "thread count does not change the returns")
    }

    @Test func directPolicyAndSweep() throws {
        let directory = try TemporaryDirectory()
        let direct = try CommandRunner.run(["train"] + Self.tiny + ["-o", "direct.idz"], in: directory.url)
        #expect(direct.status == 0, "\(direct.standardError)")
        #expect(try IdzFile.read(contentsOf: directory.file("direct.idz")).projection.kind == .identity)

        let sweep = try CommandRunner.run(
            ["sweep", "run"] + Self.tiny + ["--dims", "2,4", "--out", "s", "--json"], in: directory.url)
        #expect(sweep.status == 0, "\(sweep.standardError)")
        let summary = try Self.json(sweep.standardOutput)
        #expect(summary["baseline_kind"] as? String == "local" || sweep.standardError.contains("baseline local"))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.file("s/models").path).sorted()
        #expect(files.count == 3, "\(files)")
        // Resume: nothing left to train.
        let again = try CommandRunner.run(["sweep", "run"] + Self.tiny + ["--dims", "2,4", "--out", "s"], in: directory.url)
        #expect(again.status == 0 && again.standardError.contains("3 done, 0 to run"), "\(again.standardError)")
    }

    /// Evolution strategies on MuJoCo's InvertedPendulum: the default network is the paper's
    /// D = 562, the progress counts iterations, and eval replays the training's evaluation.
    @Test func pendulumWithEvolutionStrategies() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(
            ["train", "--env", "inverted-pendulum", "--algorithm", "es", "-d", "4", "--projection", "dense", "--iterations", "3",
             "--population", "3", "--sigma", "1", "--eval-every", "1", "--eval-episodes", "3", "--seed", "2", "-o", "p.idz", "--json"],
            in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let summary = try Self.json(train.standardOutput)
        #expect(summary["environment"] as? String == "inverted-pendulum" && summary["algorithm"] as? String == "es")
        #expect(summary["model"] as? String == "fc:4-20-20-2" && summary["parameters"] as? Int == 562 && summary["d"] as? Int == 4)
        #expect(train.standardError.contains("iteration 3/3"), "\(train.standardError)")
        let mean = try #require(summary["return_mean"] as? Double)
        #expect(mean >= 0 && mean <= 1000)
        let same = try CommandRunner.run(
            ["eval", "p.idz", "--env", "inverted-pendulum", "--episodes", "3", "--seed", "2", "--json"], in: directory.url)
        #expect(same.status == 0, "\(same.standardError)")
        #expect(try Self.json(same.standardOutput)["mean"] as? Double == mean)
    }

    @Test(arguments: [
        ["train", "--env", "pong", "-o", "x.idz"],
        ["train", "--env", "cartpole", "--data", "mnist", "-o", "x.idz"],
        ["train", "--env", "cartpole", "--model", "fc:784-200-200-10", "-o", "x.idz"],
        ["train", "--env", "cartpole", "--model", "fc:4-16-3", "-o", "x.idz"],
        ["train", "--env", "cartpole", "-o", "x.safetensors"],
        ["train", "--env", "cartpole", "--epochs", "3", "-o", "x.idz"],
        ["train", "--steps", "100", "-o", "x.idz"],
        ["train", "--env", "cartpole", "--algorithm", "ppo", "-o", "x.idz"],
        ["train", "--env", "cartpole", "--steps", "0", "-o", "x.idz"],
        ["eval", "x.idz", "--env", "cartpole", "--data", "mnist"],
        ["eval", "x.idz", "--env", "cartpole", "--episodes", "0"],
        ["sweep", "run", "--env", "cartpole", "--data", "mnist", "--out", "s"],
        ["sweep", "run", "--env", "cartpole", "--model", "fc:4-8-3", "--out", "s"],
        ["train", "--env", "inverted-pendulum", "--algorithm", "dqn", "-o", "x.idz"],
        ["train", "--env", "inverted-pendulum", "--algorithm", "es", "--steps", "100", "-o", "x.idz"],
        ["train", "--env", "inverted-pendulum", "--algorithm", "es", "--sigma", "0", "-o", "x.idz"],
        ["train", "--env", "inverted-pendulum", "--algorithm", "es", "--model", "fc:5-8-1", "-o", "x.idz"],
        ["train", "--env", "cartpole", "--sigma", "1", "-o", "x.idz"],
        ["train", "--iterations", "10", "-o", "x.idz"],
    ])
    func badOptionsAreOneLineExit64(arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(arguments, in: directory.url)
        #expect(result.status == 64, "\(arguments): \(result.standardError)")
        let errors = result.standardError.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
        #expect(errors.count == 1 && result.standardError.hasPrefix("Error: "), "\(arguments): \(result.standardError)")
        #expect(directory.contents.isEmpty)
    }
}
