/// Why a network cannot be run on the given parameters or inputs.
public enum InferenceError: Error, CustomStringConvertible, Equatable {
    /// The architecture is invalid; the message says why.
    case architecture(String)
    /// A valid architecture this engine cannot run (e.g. a toy objective).
    case unsupported(String)
    /// theta does not have the network's D values.
    case parameterCount(expected: Int, actual: Int)
    /// Inputs are not a whole number of examples of `expected` values, or do not match the labels.
    case inputCount(expected: Int, actual: Int)
    /// A label outside 0 ..< classes.
    case label(index: Int, value: Int, classes: Int)
    /// The preprocessing does not fit the input (Formats/idz-v1.md section 13); the message says how.
    case preprocessing(String)

    /// One line naming the problem.
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
            "label \(value) of example \(index) is not one of the model's \(classes) classes (0 to \(classes - 1))"
        case .preprocessing(let message):
            "cannot preprocess inputs: \(message)"
        }
    }
}
