import ArgumentParser
import Foundation
import IdzipCore

/// Reads a `.idz` file named on the command line, turning failures into one-line errors.
enum ModelFile {
    static func read(_ path: String) throws -> IdzModel {
        do {
            return try IdzFile.read(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure("\(path): \(error.description)")
        }
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// A runtime failure: printed as one line, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An Encodable value as indented JSON with sorted keys, as the command line writes it.
func prettyJSON<Value: Encodable>(_ value: Value) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
}

/// Prints an Encodable value as JSON on standard output.
func printJSON<Value: Encodable>(_ value: Value) throws {
    print(String(decoding: try prettyJSON(value), as: UTF8.self))
}

/// 199210 -> "199,210".
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return value < 0 ? "-" + result : result
}
