/// The version of idzip, the tool and its libraries (not of the file format; see
/// `IdzFile.formatVersion`). Files record it as their producer.
public enum IdzipVersion {
    public static let current = "0.1.0"
    /// "idzip 0.1.0".
    public static var producer: String { "idzip \(current)" }
}
