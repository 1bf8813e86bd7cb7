import ArgumentParser
import IdzipCore
import IdzipTraining

/// `--model`: an architecture by name (fc:784-200-200-10, fc5, lenet, lenet:3x32x32, toy,
/// resnet20, mnist-bn) or an architecture file (net.json),
/// parsed once (`@Option(transform: ModelArgument.parse)`, so the parse error is shown).
struct ModelArgument: Sendable, CustomStringConvertible {
    /// The name as given, recorded in files and reports.
    var name: String
    var architecture: Architecture
    /// D.
    var parameterCount: Int

    static func parse(_ text: String) throws -> ModelArgument {
        do {
            let architecture = try Architecture(spec: text)
            return ModelArgument(name: text, architecture: architecture, parameterCount: try architecture.parameterCount())
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The paper's MNIST network, the default.
    static let fullyConnected = ModelArgument(
        name: "fc:784-200-200-10", architecture: .fullyConnected(inputShape: [784], widths: [200, 200, 10]), parameterCount: 199_210)
    static let help = "Architecture: fc:784-200-200-10, fc5, lenet, lenet:3x32x32, toy, resnet20, mnist-bn, or an architecture file net.json (docs/architecture-files.md)."
    /// The same help with the default named (a transformed option shows none by itself).
    static let helpWithDefault = help + " (default: \(fullyConnected.name); with --env, fc:OBSERVATIONS-64-64-ACTIONS, fc:4-64-64-2 for cartpole)"
    var description: String { name }

    var isToy: Bool { ToyObjective(architecture) != nil }

    /// Refuses a subspace larger than the network.
    func check(dimension: Int?) throws {
        if let dimension, dimension > parameterCount {
            throw ValidationError("d = \(dimension) exceeds the number of parameters D = \(parameterCount) of \(name)")
        }
    }
}

/// `--dims`: a list and/or ranges of subspace dimensions, "100,200,400", "1-20", "100-1500:100".
struct DimensionList: Sendable {
    var dimensions: [Int]

    static func parse(_ text: String) throws -> DimensionList {
        do {
            return DimensionList(dimensions: try SweepPlan.dimensions(from: text))
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// `--search`: a range LOW-HIGH of positive integers.
struct DimensionRange: Sendable {
    var low: Int
    var high: Int

    static func parse(_ text: String) throws -> DimensionRange {
        guard let range = IntrinsicDimensionSearch.parseRange(text) else {
            throw ValidationError("--search must be a range LOW-HIGH of positive integers, such as 1-1000")
        }
        return DimensionRange(low: range.low, high: range.high)
    }
}

/// Parsers of the sweep's typed options, with the reason in the message (an
/// `ExpressibleByArgument` conformance could only say "invalid").
enum SweepArgument {
    static func shard(_ text: String) throws -> SweepShard {
        guard let shard = SweepShard(text) else { throw ValidationError("--shard must be i/n with 1 <= i <= n, such as 2/4") }
        return shard
    }

    static func baseline(_ text: String) throws -> SweepBaseline {
        guard let baseline = SweepBaseline(text) else { throw ValidationError("--baseline must be a positive number or 'local'") }
        return baseline
    }
}

/// Parsers of the format's enums by name (not `ExpressibleByArgument`: the help would show
/// their raw values as defaults).
enum FormatArgument {
    static func projection(_ text: String) throws -> ProjectionKind {
        guard let kind = ProjectionKind(name: text) else {
            throw ValidationError("'\(text)' is not a projection; use \(ProjectionKind.allCases.map(\.name).joined(separator: ", "))")
        }
        return kind
    }

    static func encoding(_ text: String) throws -> EncodingChoice {
        if text.hasPrefix("codebook:") {
            guard let levels = Int(text.dropFirst("codebook:".count)), levels >= 1, levels <= StoredTheta.maxCodebookLevels else {
                throw ValidationError("'\(text)': codebook:K needs K levels between 1 and \(StoredTheta.maxCodebookLevels)")
            }
            return EncodingChoice(encoding: .codebook, levels: levels)
        }
        guard let encoding = ThetaEncoding(name: text) else {
            throw ValidationError("'\(text)' is not an encoding; use \(ThetaEncoding.allCases.map(\.name).joined(separator: ", ")) or codebook:K")
        }
        return EncodingChoice(encoding: encoding, levels: StoredTheta.defaultCodebookLevels)
    }

    static func container(_ text: String) throws -> ContainerProfile {
        guard let profile = ContainerProfile(name: text) else {
            throw ValidationError("'\(text)' is not a container; use standard, compact or compact:N (N = 4, 8, 16 or 32 bytes of the weights digest)")
        }
        return profile
    }
}

/// `--encoding`: the stored form of theta_d and, for a codebook, its number of levels K
/// (post-training k-means, `StoredTheta.quantize`).
struct EncodingChoice {
    var encoding: ThetaEncoding
    var levels: Int

    static let float32 = EncodingChoice(encoding: .float32, levels: StoredTheta.defaultCodebookLevels)

    /// The help text of `--encoding`.
    static let help = "Stored form of theta_d: float32, float16, int8, or codebook:K (K levels, range coded; codebook = codebook:16; format version 2; train learns them with the model, see --quantizer; create and sweep fit them by k-means) (default: float32)."

    /// The help text of `--container`.
    static let containerHelp = "File layout: standard (format version 1), compact (version 2: varint fields, no tensor table, CRC-32 trailer, no provenance metadata, no weights digest) or compact:N (compact keeping N = 4, 8, 16 or 32 bytes of the weights SHA-256) (default: standard)."
}

extension TrainingOverrides.Optimizer: ExpressibleByArgument {}

/// ArgumentParser reads a token that starts with "-" as an option, so `--epochs -5` said
/// "Missing value for '--epochs <epochs>'". A negative number right after a long option is
/// attached to it (`--epochs=-5`, which ArgumentParser reads as the value), so the
/// option's own check answers ("--epochs must be at least 0"; "the
/// value '-1' is invalid for '--seed <seed>'" for an unsigned one). Nothing after `--`
/// is changed; idzip has no positional argument that is a number.
enum NegativeNumberArguments {
    static func attached(_ arguments: [String]) -> [String] {
        var result: [String] = []
        for argument in arguments {
            if let option = result.last, option.hasPrefix("--"), option.count > 2, !option.contains("="),
               !result.contains("--"), isNegativeNumber(argument)
            {
                result[result.count - 1] = option + "=" + argument
            } else {
                result.append(argument)
            }
        }
        return result
    }

    /// "-5", "-0.5", "-1e3" (and "-inf", "-nan": Double reads them; the option refuses them),
    /// and a comma-separated list of numbers that starts with a negative one ("-1,2", as
    /// `--mean` and `--std` take).
    static func isNegativeNumber(_ text: String) -> Bool {
        text.count > 1 && text.hasPrefix("-") && !text.hasPrefix("--")
            && text.split(separator: ",", omittingEmptySubsequences: false).allSatisfy {
                Double($0.trimmingCharacters(in: .whitespaces)) != nil
            }
    }
}
