// OutlineFuzzer: every input through the three outline parsers, checked by OutlineInvariants.
//
// Built with -DFUZZING and -sanitize=fuzzer (scripts/fuzz-outlines.sh), libFuzzer supplies
// `main` and calls LLVMFuzzerTestOneInput with each input it makes; a broken invariant traps, so
// libFuzzer saves the input as a crasher. In a normal build, `main` replays files and folders
// given as arguments (a corpus, a crasher) and exits 1 if any input breaks an invariant.
import Foundation
import Outlines

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        let problems = OutlineInvariants.violations(bytes)
        if !problems.isEmpty {
            preconditionFailure(problems.joined(separator: "\n"))
        }
        return 0
    }
#else
    @main
    struct OutlineFuzzer {
        static func main() throws {
            let paths = CommandLine.arguments.dropFirst()
            guard !paths.isEmpty else {
                print("usage: OutlineFuzzer FILE_OR_FOLDER...: checks every input against OutlineInvariants")
                exit(2)
            }
            var inputs = 0
            var failures = 0
            for path in paths {
                for file in try files(at: path) {
                    inputs += 1
                    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
                    let problems = OutlineInvariants.violations(bytes)
                    if !problems.isEmpty {
                        failures += 1
                        print("\(file):\n  " + problems.joined(separator: "\n  "))
                    }
                }
            }
            print("\(inputs) inputs, \(failures) breaking an invariant")
            exit(failures == 0 ? 0 : 1)
        }

        /// `path` itself, or the regular files in the folder `path`, sorted.
        static func files(at path: String) throws -> [String] {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                return [path]
            }
            return try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { !$0.hasPrefix(".") }
                .sorted()
                .map { path + "/" + $0 }
        }
    }
#endif
