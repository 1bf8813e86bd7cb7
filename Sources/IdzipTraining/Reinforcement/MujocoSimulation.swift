import CMujoco
import Foundation

/// A compiled MuJoCo model (`mjModel`), read-only once loaded, so one value serves every
/// thread (MuJoCo's own rule: `mj_step` reads the model and writes only its `mjData`).
///
/// Loaded from XML text through the MuJoCo C library that Debian packages (`libmujoco-dev`,
/// version 2.2.2; the `CMujoco` system library target). MuJoCo 2.2's `mj_loadXML` reads a
/// file, so the text is written to a private temporary file first and removed at once.
final class MujocoModel: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<mjModel>

    /// - Throws: `ReinforcementError.simulator` with MuJoCo's message when the XML does not compile.
    init(xml: String) throws(ReinforcementError) {
        let directory = FileManager.default.temporaryDirectory.path
        var template = Array("\(directory)/idzip-mujoco-XXXXXX.xml".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
        guard descriptor >= 0 else { throw .simulator("cannot create a temporary file for the MuJoCo model") }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { unlink(path) }
        let bytes = Array(xml.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count else { throw .simulator("cannot write the MuJoCo model to \(path)") }
        var message = [CChar](repeating: 0, count: 1000)
        let model = message.withUnsafeMutableBufferPointer { mj_loadXML(path, nil, $0.baseAddress, Int32($0.count)) }
        guard let model else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .simulator("MuJoCo cannot compile the model: \(text)")
        }
        pointer = model
    }

    deinit { mj_deleteModel(pointer) }

    /// Generalised coordinates (nq) and velocities (nv).
    var positionCount: Int { Int(pointer.pointee.nq) }
    var velocityCount: Int { Int(pointer.pointee.nv) }
    var controlCount: Int { Int(pointer.pointee.nu) }
    /// The integration step in seconds (`<option timestep>`).
    var timestep: Double { pointer.pointee.opt.timestep }

    /// The library's version as MuJoCo writes it, e.g. "2.2.2".
    static var libraryVersion: String { String(cString: mj_versionString()) }
}

/// One simulation state (`mjData`) of a `MujocoModel`. A class: copies of an environment
/// value copy it on write (`copyIfShared`), so each environment value keeps its own episode.
final class MujocoState: @unchecked Sendable {
    let model: MujocoModel
    let pointer: UnsafeMutablePointer<mjData>

    init(model: MujocoModel) {
        self.model = model
        guard let data = mj_makeData(model.pointer) else {
            fatalError("MuJoCo could not allocate mjData (out of memory)")
        }
        pointer = data
    }

    /// A copy of `other`'s whole state.
    init(copying other: MujocoState) {
        model = other.model
        guard let data = mj_makeData(model.pointer) else {
            fatalError("MuJoCo could not allocate mjData (out of memory)")
        }
        mj_copyData(data, model.pointer, other.pointer)
        pointer = data
    }

    deinit { mj_deleteData(pointer) }

    /// Resets to the model's defaults, sets qpos and qvel, and recomputes the derived
    /// quantities (`mj_forward`), as Gymnasium's `MujocoEnv.set_state`.
    func set(positions: [Double], velocities: [Double]) {
        precondition(positions.count == model.positionCount && velocities.count == model.velocityCount)
        mj_resetData(model.pointer, pointer)
        for (index, value) in positions.enumerated() { pointer.pointee.qpos[index] = value }
        for (index, value) in velocities.enumerated() { pointer.pointee.qvel[index] = value }
        mj_forward(model.pointer, pointer)
    }

    /// Sets the controls and advances `steps` integration steps, as Gymnasium's
    /// `MujocoEnv.do_simulation` (`mj_step` `frame_skip` times, then `mj_rnePostConstraint`).
    func advance(controls: [Double], steps: Int) {
        precondition(controls.count == model.controlCount)
        for (index, value) in controls.enumerated() { pointer.pointee.ctrl[index] = value }
        for _ in 0..<steps { mj_step(model.pointer, pointer) }
        mj_rnePostConstraint(model.pointer, pointer)
    }

    var positions: [Double] { (0..<model.positionCount).map { pointer.pointee.qpos[$0] } }
    var velocities: [Double] { (0..<model.velocityCount).map { pointer.pointee.qvel[$0] } }
}

/// Errors of the reinforcement-learning environments and algorithms (one line each).
public enum ReinforcementError: Error, CustomStringConvertible, Equatable {
    /// The physics library failed (model compilation, allocation).
    case simulator(String)
    /// A setting is outside what the algorithm accepts.
    case invalid(String)

    public var description: String {
        switch self {
        case .simulator(let message): message
        case .invalid(let message): message
        }
    }
}
