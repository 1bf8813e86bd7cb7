/// Why a network cannot be run on the given parameters or inputs.
public enum InferenceError: Error, CustomStringConvertible, Equatable {
    case architecture(String)
    case unsupported(String)
    case parameterCount(expected: Int, actual: Int)
    case inputCount(expected: Int, actual: Int)
    case label(index: Int, value: Int, classes: Int)

    public var description: String {
        switch self {
        case .architecture(let message):
            message
        case .unsupported(let message):
            "cannot run this network: \(message)"
        case .parameterCount(let expected, let actual):
            "the network has \(expected) parameters but \(actual) were given"
        case .inputCount(let expected, let actual):
            "inputs hold \(actual) numbers, not a whole number of examples of \(expected)"
        case .label(let index, let value, let classes):
            "label \(value) of example \(index) is outside 0..<\(classes)"
        }
    }
}
