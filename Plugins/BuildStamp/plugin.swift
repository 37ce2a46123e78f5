import Foundation
import PackagePlugin

/// Writes `BuildStampCommit.swift` into the target before every build: the commit the
/// package's sources are at, so a record names the code that ran rather than
/// whichever checkout the binary happens to be run from. "+dirty" when
/// `Sources/`, `Plugins/` or `Package.swift` differ from that commit (changes in
/// `Results/` or `docs/` do not change the binary); "unknown" outside a git
/// checkout or without git. The file is rewritten only when its text changes, so
/// an unchanged stamp recompiles nothing.
@main
struct BuildStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "stamp")
        let script = #"""
            set -u
            cd "$1" 2>/dev/null || exit 1
            c=$(git rev-parse --short=12 HEAD 2>/dev/null) || c=unknown
            if [ "$c" != unknown ] && [ -n "$(git status --porcelain -- Sources Plugins Package.swift 2>/dev/null)" ]; then
                c="$c+dirty"
            fi
            mkdir -p "$2"
            text="extension BuildStamp { public static var commit: String { \"$c\" } }"
            [ "$(cat "$2/BuildStampCommit.swift" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" > "$2/BuildStampCommit.swift"
            """#
        return [.prebuildCommand(
            displayName: "Stamping normbench with its source commit",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", script, "stamp", context.package.directoryURL.path, output.path],
            outputFilesDirectory: output)]
    }
}
