/// The version of the idzip tool (not of the file format; see `IdzFile.formatVersion`).
enum IdzipVersion {
    static let current = "0.1.0"
}
