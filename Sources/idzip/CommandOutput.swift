import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

/// A runtime failure: printed as one line, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
    init(_ error: any Error) { description = String(describing: error) }
}

/// Runs `body`, turning any library error into a one-line `CommandFailure` (exit 1).
func failing<Value>(_ prefix: String? = nil, _ body: () throws -> Value) throws -> Value {
    do {
        return try body()
    } catch let error as CommandFailure {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        let text = CommandFailure(error).description
        throw CommandFailure(prefix.map { "\($0): \(text)" } ?? text)
    }
}

/// Prints an Encodable value as JSON on standard output.
func printJSON<Value: Encodable>(_ value: Value) throws {
    print(String(decoding: try prettyJSON(value), as: UTF8.self))
}

/// Reads a `.idz` file named on the command line, turning failures into one-line errors.
enum ModelFile {
    static func read(_ path: String) throws -> IdzModel {
        try failing(path) { try IdzFile.read(contentsOf: URL(fileURLWithPath: path)) }
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
