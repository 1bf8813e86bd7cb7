import Foundation

/// Files of the source checkout (Formats/, samples/), found from this file's path.
enum RepositoryFiles {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // IdzipCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }
}
