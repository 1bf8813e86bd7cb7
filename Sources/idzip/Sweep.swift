import ArgumentParser

/// `idzip sweep`: runs a sweep (the default subcommand) or merges the outputs of shards.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the intrinsic dimension: train in subspaces of several d and find d_int90.",
        discussion: """
            `idzip sweep [options]` runs a sweep (see `idzip sweep run --help`); \
            `idzip sweep merge` combines the directories of sweeps run as shards (--shard i/n).
            """,
        subcommands: [SweepRun.self, SweepMerge.self],
        defaultSubcommand: SweepRun.self
    )
}
