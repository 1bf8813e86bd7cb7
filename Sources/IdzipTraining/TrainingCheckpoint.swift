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
    /// The batch-norm running statistics (empty without batch norm).
    public var buffers: [Float]
    /// Training steps the running statistics have seen.
    public var batchesTracked: UInt64

    public init(
        epochsCompleted: Int, spaceName: String, parameterCount: Int, parameters: [Float],
        optimizerName: String, optimizer: OptimizerState, buffers: [Float] = [], batchesTracked: UInt64 = 0
    ) {
        self.epochsCompleted = epochsCompleted
        self.spaceName = spaceName
        self.parameterCount = parameterCount
        self.parameters = parameters
        self.optimizerName = optimizerName
        self.optimizer = optimizer
        self.buffers = buffers
        self.batchesTracked = batchesTracked
    }

    static let magic = Array("IDZTRAIN".utf8)
    static let version: UInt32 = 1
    /// The version that adds batch-norm state; written only when there are buffers.
    static let buffersVersion: UInt32 = 2

    /// A self-checking little-endian encoding (with a CRC-32 at the end), written with the
    /// container's `ByteWriter`: magic "IDZTRAIN", u32 version, u32-prefixed space and
    /// optimiser names, u64 epochs, step, D and trained count, u32 slot count, the trained
    /// floats, each slot's floats, (version 2, with buffers: u64 batches tracked, u64
    /// buffer count, the buffer floats,) u32 CRC-32 of everything before it.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Self.magic)
        writer.u32(buffers.isEmpty ? Self.version : Self.buffersVersion)
        writer.string(spaceName)
        writer.string(optimizerName)
        writer.u64(UInt64(epochsCompleted))
        writer.u64(UInt64(optimizer.step))
        writer.u64(UInt64(parameterCount))
        writer.u64(UInt64(parameters.count))
        writer.u32(UInt32(optimizer.slots.count))
        for value in parameters { writer.f32(value) }
        for slot in optimizer.slots { for value in slot { writer.f32(value) } }
        if !buffers.isEmpty {
            writer.u64(batchesTracked)
            writer.u64(UInt64(buffers.count))
            for value in buffers { writer.f32(value) }
        }
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
            let version = try reader.u32("version")
            guard version == Self.version || version == Self.buffersVersion else {
                throw TrainingError.checkpoint("unsupported checkpoint version")
            }
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
            buffers = []
            batchesTracked = 0
            if version == Self.buffersVersion {
                batchesTracked = try reader.u64("batches tracked")
                let count = try reader.u64("buffer count")
                guard count >= 1, count <= UInt64(Limits.maxParameters) else { throw TrainingError.checkpoint("the checkpoint holds impossible sizes") }
                try reader.checkRoom(for: Int(count), of: 4, "buffer floats")
                for _ in 0..<Int(count) { buffers.append(try reader.f32("buffer")) }
            }
            guard reader.isAtEnd else { throw TrainingError.checkpoint("the checkpoint has unexpected trailing bytes") }
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .checkpoint("the checkpoint is truncated or damaged (\((error as? IdzError)?.message ?? "\(error)"))")
        }
    }
}
