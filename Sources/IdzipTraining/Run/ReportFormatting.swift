import Foundation

/// An Encodable value as indented JSON with sorted keys and unescaped slashes: the one
/// encoding of every JSON file and `--json` output idzip writes. A number that is not
/// finite (NaN, +-infinity), which JSON cannot express, is written as `null`
/// (`FiniteValues`), so encoding never fails on one.
public func prettyJSON<Value: Encodable>(_ value: Value) throws -> Data {
    // Non-finite numbers are first encoded as a string no real value can hold (a fresh
    // UUID), then that quoted string becomes null.
    let marker = "idzip-non-finite-" + UUID().uuidString
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: marker, negativeInfinity: marker, nan: marker)
    let text = String(decoding: try encoder.encode(value), as: UTF8.self)
    guard text.contains(marker) else { return Data(text.utf8) }
    return Data(text.replacingOccurrences(of: "\"" + marker + "\"", with: "null").utf8)
}

/// An integer with thousands separators: 199210 -> "199,210".
public func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return value < 0 ? "-" + result : result
}

/// A count with its noun in the right number, the count grouped: `counted(1, "run")` is
/// "1 run", `counted(1200, "epoch")` is "1,200 epochs"; `plural` for nouns that do not add "s".
public func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(grouped(count)) " + (count == 1 ? singular : plural ?? singular + "s")
}

/// A closed range of integers as people read it: "1 to 256" (grouped).
public func rangeText(_ low: Int, _ high: Int) -> String {
    "\(grouped(low)) to \(grouped(high))"
}
