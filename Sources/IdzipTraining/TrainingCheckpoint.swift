import CZlib
import IdzipCore

/// Everything needed to resume training at an epoch boundary. The example order and all
/// other randomness are recomputed from the seeds, so a resumed run gives the same bits as
/// one that never stopped.
public struct TrainingCheckpoint: Sendable, Hashable {
    /// Epochs finished; training resumes with this 0-based epoch.
    public var epochsCompleted: Int
    /// "direct" or "subspace-<projection kind>".
    public var spaceName: String
    /// D of the network.
    public var parameterCount: Int
    /// theta (direct) or theta_d (subspace).
    public var parameters: [Float]
    /// "sgd" or "adam".
    public var optimizerName: String
    public var optimizer: OptimizerState

    public init(
        epochsCompleted: Int, spaceName: String, parameterCount: Int, parameters: [Float],
        optimizerName: String, optimizer: OptimizerState
    ) {
        self.epochsCompleted = epochsCompleted
        self.spaceName = spaceName
        self.parameterCount = parameterCount
        self.parameters = parameters
        self.optimizerName = optimizerName
        self.optimizer = optimizer
    }

    static let magic = Array("IDZTRAIN".utf8)
    static let version: UInt32 = 1

    /// A self-checking little-endian encoding (with a CRC-32 at the end).
    public func serialized() -> [UInt8] {
        var bytes = Self.magic
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        func append(_ text: String) { append(UInt32(text.utf8.count)); bytes += Array(text.utf8) }
        func append(_ values: [Float]) { for value in values { append(value.bitPattern) } }
        append(Self.version)
        append(spaceName)
        append(optimizerName)
        append(UInt64(epochsCompleted))
        append(UInt64(optimizer.step))
        append(UInt64(parameterCount))
        append(UInt64(parameters.count))
        append(UInt32(optimizer.slots.count))
        append(parameters)
        for slot in optimizer.slots { append(slot) }
        let checksum = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        append(checksum)
        return bytes
    }

    /// Decodes `serialized()` output; throws on damage or a different format.
    public init(serialized bytes: [UInt8]) throws(TrainingError) {
        guard bytes.count >= Self.magic.count + 8, bytes.starts(with: Self.magic) else {
            throw .checkpoint("not an idzip training checkpoint")
        }
        let body = bytes.count - 4
        let stored = bytes[body...].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let computed = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32(body))) }
        guard stored == computed else { throw .checkpoint("the checkpoint is damaged (checksum mismatch)") }
        var offset = Self.magic.count
        func take(_ count: Int) throws(TrainingError) -> ArraySlice<UInt8> {
            guard count >= 0, count <= body - offset else { throw .checkpoint("the checkpoint is truncated") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }
        func integer<T: FixedWidthInteger>(_ type: T.Type) throws(TrainingError) -> T {
            try take(MemoryLayout<T>.size).reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        func text() throws(TrainingError) -> String {
            let count = Int(try integer(UInt32.self))
            return String(decoding: try take(count), as: UTF8.self)
        }
        func floats(_ count: Int) throws(TrainingError) -> [Float] {
            guard count <= (body - offset) / 4 else { throw .checkpoint("the checkpoint is truncated") }
            var result = [Float](repeating: 0, count: count)
            for index in 0..<count { result[index] = Float(bitPattern: try integer(UInt32.self)) }
            return result
        }
        guard try integer(UInt32.self) == Self.version else { throw .checkpoint("unsupported checkpoint version") }
        spaceName = try text()
        optimizerName = try text()
        let epochs = try integer(UInt64.self), step = try integer(UInt64.self)
        let parameterCount = try integer(UInt64.self), trained = try integer(UInt64.self)
        let slotCount = try integer(UInt32.self)
        guard epochs <= UInt64(Int32.max), step <= UInt64(Int.max), parameterCount <= UInt64(Limits.maxParameters),
              trained <= UInt64(Limits.maxParameters), slotCount <= 8
        else { throw .checkpoint("the checkpoint holds impossible sizes") }
        epochsCompleted = Int(epochs)
        self.parameterCount = Int(parameterCount)
        parameters = try floats(Int(trained))
        var slots: [[Float]] = []
        for _ in 0..<slotCount { slots.append(try floats(Int(trained))) }
        optimizer = OptimizerState(step: Int(step), slots: slots)
        guard offset == body else { throw .checkpoint("the checkpoint has unexpected trailing bytes") }
    }
}
