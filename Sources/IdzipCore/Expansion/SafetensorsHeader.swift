/// The header of a safetensors file holding float32 tensors laid out back to back:
/// 8-byte little-endian length, then JSON padded with spaces to a multiple of 8.
public enum SafetensorsHeader {
    public static func encode(tensors: [TensorSpec], metadata: [(key: String, value: String)]) -> [UInt8] {
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            json += "},"
        }
        var offset = 0
        json += tensors.map { tensor in
            let start = offset
            offset += tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            return "\(jsonString(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(start),\(offset)]}"
        }.joined(separator: ",")
        json += "}"
        var body = Array(json.utf8)
        while body.count % 8 != 0 { body.append(UInt8(ascii: " ")) }
        return littleEndianBytes(UInt64(body.count)) + body
    }

    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

func littleEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}
