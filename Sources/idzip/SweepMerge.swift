import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

/// `idzip sweep merge`: combines the directories of a sweep's shards (or of sweeps with the
/// same settings) into one directory with every run and the full report.
struct SweepMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the directories of a sweep's shards into one, with its summary, plot and page.",
        discussion: """
            Every input must hold a sweep with the same settings (settings.txt). Shards (--shard i/n) \
            must all be there, 1 to n, with all their runs finished, unless --allow-partial. Models \
            are copied into --out/models; an existing sweep in --out is merged with the inputs.
            """
    )

    @Argument(help: "Sweep directories: the shards' --out directories.", completion: .directory)
    var inputs: [String]

    @Option(name: .customLong("out"), help: "Directory of the merged sweep.", completion: .directory)
    var directory: String

    @Option(help: "Baseline: a number or 'local' (default: the one the shards were run with, else 1.0).", transform: SweepArgument.baseline)
    var baseline: SweepBaseline?

    @Option(help: "Threshold (default: the one the shards were run with, else 0.9).")
    var threshold: Double?

    @Flag(help: "Merge even when shards, or runs of them, are missing.")
    var allowPartial = false

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give the sweep directories to merge") }
        if let threshold, !(threshold > 0 && threshold <= 1) { throw ValidationError("--threshold must be above 0 and at most 1") }
        let output = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard !inputs.contains(where: { URL(fileURLWithPath: $0).standardizedFileURL.path == output }) else {
            throw ValidationError("--out must not be one of the inputs")
        }
    }

    func run() throws {
        try OutputCheck.directory(directory, role: "--out", inputs: inputs)
        let merger = SweepMerger(
            inputs: inputs.map(SweepDirectory.init), output: SweepDirectory(directory), baseline: baseline, threshold: threshold,
            allowPartial: allowPartial)
        let merged = try failing { try merger.merge() }
        try SweepReport.print(
            merged.summary, json: json,
            closing: "merged \(counted(inputs.count, "directory", plural: "directories")) (\(counted(merged.runCount, "run"))) into \(merger.output.path)")
    }
}
