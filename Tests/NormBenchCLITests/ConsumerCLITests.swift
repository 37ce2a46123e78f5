import Foundation
import Testing

/// scripts/consumer-check.sh: a throwaway package that depends on this
/// repository by version (`from: "0.1.0"`, a temporary clone of the committed
/// HEAD) builds and runs a five-line program with NormBenchVideo (docs/library.md).
/// About half a minute once the dependencies are in SwiftPM's cache.
@Suite struct ConsumerCLITests {
    @Test func anotherPackageUsesTheLibraryByVersion() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let r = try BuiltBinary.runProcess("/bin/bash", ["\(repository)/scripts/consumer-check.sh"], timeout: 600)
        #expect(r.status == 0, "exit \(r.status): \(r.stderr.suffix(2000))")
        #expect(r.stdout.contains("-> tensor [3, 8, 112, 112] = 301056 floats"), "\(r.stdout)")
    }
}
