import ArgumentParser

@main
struct Idzip: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train networks in random subspaces and ship them as tiny .idz files.",
        version: "0.1.0"
    )
}
