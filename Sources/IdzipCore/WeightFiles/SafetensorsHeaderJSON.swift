/// The JSON header of a safetensors file, read by `StrictJSON` (duplicate keys refused,
/// invalid UTF-8 refused, nesting bounded) with the safetensors reader's error kinds.
enum SafetensorsHeaderJSON {
    typealias Value = StrictJSON.Value

    /// The deepest nesting a safetensors header needs is 3 (header, entry, shape); 8 leaves room.
    static let maxDepth = 8

    /// Parses `bytes` as one JSON value surrounded by optional whitespace.
    /// - Throws: `SafetensorsError`: `.duplicateName` for a key given twice, else `.invalidHeader`.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> Value {
        do {
            return try StrictJSON.parse(bytes, maxDepth: maxDepth, noun: "the header")
        } catch {
            switch error {
            case .syntax(let position, let reason):
                throw SafetensorsError(.invalidHeader, "invalid safetensors header at byte \(position): \(reason)")
            case .tooDeep(let position, let limit):
                throw SafetensorsError(.invalidHeader, "invalid safetensors header at byte \(position): nested deeper than \(limit) levels")
            case .duplicateKey(let key, _):
                throw SafetensorsError(.duplicateName, "the safetensors header names \(quote(key)) twice")
            case .invalidUTF8:
                throw SafetensorsError(.invalidHeader, "the safetensors header holds a string that is not valid UTF-8")
            }
        }
    }

    /// A name from a file, quoted for an error message: escaped and cut to 64 characters.
    static func quote(_ text: String) -> String { StrictJSON.quote(text) }
}
