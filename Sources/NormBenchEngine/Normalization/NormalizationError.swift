/// Why a normalization layer or spec could not be built.
public enum NormalizationError: Error, Equatable, CustomStringConvertible {
    /// GroupNorm (or EvoNorm) groups that do not divide the channels.
    case groupsDoNotDivide(method: String, channels: Int, groups: Int)
    /// `channelsPerGroup` that does not divide the channels.
    case channelsPerGroupDoesNotDivide(method: String, channels: Int, channelsPerGroup: Int)
    /// A name that is not a known method.
    case unknownMethod(String)
    /// An option that is unknown or has an invalid value.
    case invalidOption(method: String, option: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .groupsDoNotDivide(method, channels, groups):
            return "\(method): channels (\(channels)) must be divisible by groups (\(groups)); pick groups among the divisors of \(channels), e.g. \(Self.divisors(channels).suffix(3).map(String.init).joined(separator: ", "))"
        case let .channelsPerGroupDoesNotDivide(method, channels, cpg):
            return "\(method): channels (\(channels)) must be divisible by channelsPerGroup (\(cpg)); pick one of \(Self.divisors(channels).prefix(6).map(String.init).joined(separator: ", "))"
        case let .unknownMethod(name):
            return "normalization: unknown method '\(name)'; expected one of \(NormMethod.allCases.map(\.rawValue).joined(separator: ", ")) (options as e.g. 'gn:groups=16')"
        case let .invalidOption(method, option, value, expected):
            return "\(method): invalid option \(option)=\(value); expected \(expected)"
        }
    }

    private static func divisors(_ n: Int) -> [Int] { n > 0 ? (1...n).filter { n % $0 == 0 } : [] }
}
