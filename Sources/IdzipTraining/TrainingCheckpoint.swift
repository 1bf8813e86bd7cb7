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

    /// A self-checking little-endian encoding (with a CRC-32 at the end), written with the
    /// container's `ByteWriter`: magic "IDZTRAIN", u32 version, u32-prefixed space and
    /// optimiser names, u64 epochs, step, D and trained count, u32 slot count, the trained
    /// floats, each slot's floats, u32 CRC-32 of everything before it.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Self.magic)
        writer.u32(Self.version)
        writer.string(spaceName)
        writer.string(optimizerName)
        writer.u64(UInt64(epochsCompleted))
        writer.u64(UInt64(optimizer.step))
        writer.u64(UInt64(parameterCount))
        writer.u64(UInt64(parameters.count))
        writer.u32(UInt32(optimizer.slots.count))
        for value in parameters { writer.f32(value) }
        for slot in optimizer.slots { for value in slot { writer.f32(value) } }
        let checksum = writer.bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        writer.u32(checksum)
        return writer.bytes
    }

    /// Decodes `serialized()` output (with the container's bounds-checked `ByteReader`);
    /// throws on damage or a different format.
    public init(serialized bytes: [UInt8]) throws(TrainingError) {
        guard bytes.count >= Self.magic.count + 8, bytes.starts(with: Self.magic) else {
            throw .checkpoint("not an idzip training checkpoint")
        }
        let body = bytes.count - 4
        var trailer = ByteReader(bytes[body...], context: "checkpoint")
        let computed = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32(body))) }
        guard (try? trailer.u32("checksum")) == computed else { throw .checkpoint("the checkpoint is damaged (checksum mismatch)") }
        var reader = ByteReader(bytes[Self.magic.count..<body], context: "checkpoint")
        do {
            guard try reader.u32("version") == Self.version else { throw TrainingError.checkpoint("unsupported checkpoint version") }
            spaceName = try reader.string("space", limit: 256)
            optimizerName = try reader.string("optimizer", limit: 256)
            let epochs = try reader.u64("epochs"), step = try reader.u64("step")
            let parameterCount = try reader.u64("parameter count"), trained = try reader.u64("trained count")
            let slotCount = try reader.u32("slot count")
            guard epochs <= UInt64(Int32.max), step <= UInt64(Int.max), parameterCount <= UInt64(Limits.maxParameters),
                  trained <= UInt64(Limits.maxParameters), slotCount <= 8
            else { throw TrainingError.checkpoint("the checkpoint holds impossible sizes") }
            try reader.checkRoom(for: Int(trained) * (1 + Int(slotCount)), of: 4, "floats")
            func floats() throws(IdzError) -> [Float] {
                var result = [Float](repeating: 0, count: Int(trained))
                for index in result.indices { result[index] = try reader.f32("float") }
                return result
            }
            epochsCompleted = Int(epochs)
            self.parameterCount = Int(parameterCount)
            parameters = try floats()
            var slots: [[Float]] = []
            for _ in 0..<slotCount { slots.append(try floats()) }
            optimizer = OptimizerState(step: Int(step), slots: slots)
            guard reader.isAtEnd else { throw TrainingError.checkpoint("the checkpoint has unexpected trailing bytes") }
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .checkpoint("the checkpoint is truncated or damaged (\((error as? IdzError)?.message ?? "\(error)"))")
        }
    }
}
