import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

/// A runtime failure: printed as one line, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
    /// A library error's line, with any text that came from a file made terminal-safe.
    init(_ error: any Error) { description = terminalSafe(String(describing: error)) }
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
        throw CommandFailure(prefix.map { "\(terminalSafe($0)): \(text)" } ?? text)
    }
}

/// Standard output, checked: what a command printed must have arrived.
enum StandardOutput {
    /// Flushes standard output; a failed write (`> /dev/full`, a closed pipe) is exit 1.
    static func finish() throws {
        if let reason = StandardStreams.flushOutput() { throw CommandFailure("cannot write standard output: \(reason)") }
    }

    /// A line on standard output, flushed (progress), or on standard error with `toError`;
    /// terminal-safe (`terminalSafe`): text from a file or a path cannot control the terminal.
    static func line(_ text: String, toError: Bool = false) {
        StandardStreams.write(terminalSafe(text) + "\n", toError: toError)
    }

    /// Text on standard error without a newline (a live progress bar).
    static func error(_ text: String) {
        StandardStreams.write(text, toError: true)
    }
}

/// Checks the outputs named on the command line before any work (the rules are
/// `OutputTarget`'s): a refused name is one line and exit 64; a directory that takes no
/// files (permissions, read-only disk) is one line and exit 1.
enum OutputCheck {
    static func file(
        _ path: String, role: String, inputs: [String], standardOutput: Bool = false, streams: Bool = true
    ) throws -> OutputTarget {
        do {
            return try OutputTarget.check(path, role: role, inputs: inputs, standardOutput: standardOutput, streams: streams)
        } catch {
            throw refusal(error)
        }
    }

    static func directory(_ path: String, role: String, inputs: [String]) throws {
        do {
            try OutputTarget.checkDirectory(path, role: role, inputs: inputs)
        } catch {
            throw refusal(error)
        }
    }

    private static func refusal(_ error: OutputPathError) -> any Error {
        guard error.isUsage else { return CommandFailure(terminalSafe(error.description)) }
        // One line (a ValidationError would add the usage), exit 64.
        StandardOutput.line("Error: " + terminalSafe(error.description), toError: true)
        return ExitCode(64)
    }
}

/// Prints one line of a report on standard output, terminal-safe: the one sink of report
/// lines that can hold text from a file or a path.
func printLine(_ line: String) {
    StandardOutput.line(line)
}

/// The line printed for an error that reached `Idzip.main`: terminal-safe, whichever
/// command threw it. A library error becomes a `CommandFailure` (exit 1); a
/// `ValidationError` keeps its exit status 64 with its text made safe.
/// ArgumentParser's own errors (help, version, parse errors: their types are internal to
/// it) pass through unchanged.
func terminalSafeError(_ error: any Error) -> any Error {
    switch error {
    case is CommandFailure, is ExitCode, is CleanExit: return error
    case let validation as ValidationError: return ValidationError(terminalSafe(validation.message))
    default:
        if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { return error }
        return CommandFailure(error)
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

    /// The model and the container (version, layout) it was read from.
    static func readWithContainer(_ path: String) throws -> (model: IdzModel, container: ContainerInfo) {
        try failing(path) { try IdzFile.readWithContainer(contentsOf: URL(fileURLWithPath: path)) }
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// Text from a file or a path made safe for a terminal: control characters (escape, bell,
/// newlines, carriage returns, NUL, C1 controls, the line separators) are shown as `\u{..}`
/// escapes, so a crafted file cannot clear the screen, set the title or forge a line.
func terminalSafe(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        let value = scalar.value
        if value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value) || value == 0x2028 || value == 0x2029 {
            result += "\\u{" + String(value, radix: 16) + "}"
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}
