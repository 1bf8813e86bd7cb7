import ArgumentParser
import IdzipCore

@main
struct Idzip: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train networks in small random subspaces and ship them as .idz files of a few kilobytes.",
        discussion: """
            Exit status: 0 on success, 1 when the work failed (bad file, missing data, checksum \
            mismatch), 64 when the command line is wrong. Every command adds up the memory it \
            will hold before allocating it and refuses a task that needs more than the machine \
            has; IDZIP_MEMORY_LIMIT (e.g. 64G, or unlimited) sets another limit.
            """,
        version: IdzipVersion.current,
        subcommands: [Train.self, Sweep.self, Eval.self, Predict.self, Expand.self, Export.self, Info.self, Create.self, Bench.self]
    )
}
