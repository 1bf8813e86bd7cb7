import Foundation
import IdzipCore

/// Class names given by the user (`idzip train --labels FILE`): one name per line, in class
/// order (line 1 names class 0), blank lines and surrounding spaces ignored.
public enum ClassNames {
    /// Most bytes a file of names may have (the format allows 65,536 names of 4,096 bytes).
    public static let maxFileBytes = 16 << 20

    /// The names in the file at `path`.
    /// - Throws: `DataError.unreadable` when the file cannot be read, `.malformed` when it is
    ///   over `maxFileBytes`, not UTF-8, empty, or names a class twice, or a name is longer
    ///   than the format's 4,096 bytes.
    public static func read(path: String) throws(DataError) -> [String] {
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = (attributes[.size] as? NSNumber)?.intValue, size > maxFileBytes {
                throw DataError.malformed(path: path, reason: "\(grouped(size)) bytes, more than the \(grouped(maxFileBytes)) a list of class names may have")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as DataError {
            throw error
        } catch {
            throw .unreadable(path: path, reason: Self.reason(error))
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .malformed(path: path, reason: "not UTF-8 text") }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw .malformed(path: path, reason: "no class names (one per line)") }
        try check(names, source: path)
        return names
    }

    /// Refuses names that a model file cannot store or that would be ambiguous: a name
    /// given twice, or longer than 4,096 bytes.
    public static func check(_ names: [String], source: String) throws(DataError) {
        var first: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            if let earlier = first[name] {
                throw .malformed(path: source, reason: "class \(index) has the name '\(name)' of class \(earlier); class names must differ")
            }
            first[name] = index
            if name.utf8.count > 4096 {
                throw .malformed(path: source, reason: "the name of class \(index) is \(grouped(name.utf8.count)) bytes, more than 4,096")
            }
        }
    }

    /// "No such file or directory" rather than Foundation's sentence that repeats the path.
    static func reason(_ error: any Error) -> String {
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        let code = (error as NSError).code
        if code == NSFileReadNoSuchFileError || code == NSFileNoSuchFileError { return String(cString: strerror(ENOENT)) }
        return error.localizedDescription
    }
}
