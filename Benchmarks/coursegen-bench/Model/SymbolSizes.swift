/// What each dependency adds to a binary, from its symbol table (`nm --size-sort -S`): every
/// sized symbol is attributed to the Swift module its mangled name starts with (an extension to
/// the module that declares it), or, for C and C++ symbols, to the library their prefix names;
/// modules are then grouped into the packages that bring them. Pure: text in, sizes out.
///
/// Symbols cover code and data, not the headers, relocations, unwind tables and strings no
/// symbol names, so the sum is below the stripped file's size; the report says by how much.
enum SymbolSizes {
    struct Symbol: Sendable, Hashable {
        var name: String
        var size: Int
    }

    /// Parses `nm --size-sort -S` lines: `ADDRESS SIZE TYPE NAME` (hexadecimal address and size).
    /// Lines without a size are skipped.
    static func parse(nmOutput text: String) -> [Symbol] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            guard words.count == 4, let size = Int(words[1], radix: 16) else { return nil }
            return Symbol(name: String(words[3]), size: size)
        }
    }

    /// Bytes per group, largest first.
    static func breakdown(_ symbols: [Symbol], group: (String) -> String) -> [(group: String, bytes: Int)] {
        var sizes: [String: Int] = [:]
        for symbol in symbols { sizes[group(symbol.name), default: 0] += symbol.size }
        return sizes.map { ($0.key, $0.value) }.sorted {
            $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.group < $1.group
        }
    }

    /// The module a symbol belongs to: a Swift module's name, or a C or C++ library's.
    static func module(of symbol: String) -> String {
        if let module = swiftModule(ofMangled: symbol[...]) { return module }
        // Before the prefixes: ICU's renamed C API starts with `swift_` too.
        if isICU(symbol) { return "ICU" }
        for (prefix, library) in cPrefixes where symbol.hasPrefix(prefix) { return library }
        if symbol.hasPrefix("_Z") { return "C++ (other)" }
        return "C (other)"
    }

    /// The package (or toolchain library) a module comes with.
    static func dependency(ofModule module: String) -> String {
        if let known = packages[module] { return known }
        for (prefix, package) in packagePrefixes where module.hasPrefix(prefix) { return package }
        return module
    }

    /// The module a mangled Swift name (`$s…`) starts with, nil for any other symbol. An
    /// extension (`<type> <module> E`) belongs to the extending module, where its code is.
    static func swiftModule(ofMangled name: Substring) -> String? {
        var rest: Substring
        if name.hasPrefix("$s") || name.hasPrefix("$S") {
            rest = name.dropFirst(2)
        } else if name.hasPrefix("_$s") || name.hasPrefix("_$S") {
            rest = name.dropFirst(3)
        } else {
            return nil
        }
        var module: String
        if let identifier = readIdentifier(&rest) {
            module = identifier
        } else if rest.hasPrefix("So") {
            // An imported C type; what follows is its name.
            module = "__C"
            rest = rest.dropFirst(2)
        } else if rest.hasPrefix("Sc") {
            // Standard substitutions of the concurrency library: ScT (Task), ScA (Actor), ...
            module = "_Concurrency"
            rest = rest.dropFirst(3)
        } else if rest.hasPrefix("s") {
            module = "Swift"
            rest = rest.dropFirst()
        } else if rest.hasPrefix("S") {
            // Standard substitutions: SS (String), Si (Int), Sa (Array), ...
            module = "Swift"
            rest = rest.dropFirst(2)
        } else {
            return nil
        }
        // Walk the nominal types that follow: an identifier followed by E is an extension's module.
        while let identifier = readIdentifier(&rest), let kind = rest.first {
            if kind == "E" { return identifier }
            guard "VCOPa".contains(kind) else { break }
            rest = rest.dropFirst()
        }
        return module
    }

    /// Reads `<length><identifier>`; nil (reading nothing) when `text` does not start with one.
    private static func readIdentifier(_ text: inout Substring) -> String? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        // A length starting with 0 introduces word substitutions, not a plain identifier.
        guard !digits.isEmpty, digits.first != "0", let length = Int(digits) else { return nil }
        let start = text.index(text.startIndex, offsetBy: digits.count)
        guard text.distance(from: start, to: text.endIndex) >= length else { return nil }
        let end = text.index(start, offsetBy: length)
        defer { text = text[end...] }
        return String(text[start..<end])
    }

    /// C and C++ symbol prefixes of the libraries linked in.
    static let cPrefixes: [(prefix: String, library: String)] = [
        ("CCryptoBoringSSL_", "CCryptoBoringSSL"),
        ("CNIOBoringSSL_", "CNIOBoringSSL"),
        ("c_nio_", "CNIO (C shims and llhttp)"),
        ("yaml_", "CYaml"),
        ("_ZN5swift", "Swift runtime"),
        ("_ZNK5swift", "Swift runtime"),
        ("swift_", "Swift runtime"),
        ("_swift_", "Swift runtime"),
        ("__swift", "Swift runtime"),
        ("_CF", "CoreFoundation"),
        ("__CF", "CoreFoundation"),
        ("CF", "CoreFoundation"),
        ("kCF", "CoreFoundation"),
        ("dispatch_", "Dispatch"),
        ("_dispatch", "Dispatch"),
        ("_os_", "Dispatch"),
        ("inotifytools_", "libinotifytools"),
    ]

    /// ICU, as the toolchain's `_FoundationICU` builds it: its C++ namespace (`icu_76`), its
    /// data (`icudt76_dat`, most of it) and its C API, renamed with a `swift_` prefix
    /// (`swift_u_strlen`, `swift_ucol_open`) or not (`uprv_`, `ualoc_`): `u`, lowercase letters or
    /// digits, an underscore. The Swift runtime's own `swift_` functions are camel case
    /// (`swift_unknownObjectRetain`), so they do not match.
    static func isICU(_ symbol: String) -> Bool {
        if symbol.contains("icu_") || symbol.hasPrefix("icudt") { return true }
        let name = symbol.hasPrefix("swift_") ? symbol.dropFirst(6) : symbol[...]
        guard name.hasPrefix("u"), let underscore = name.firstIndex(of: "_") else { return false }
        return name[name.index(after: name.startIndex)..<underscore].allSatisfy {
            $0.isASCII && ($0.isLowercase || $0.isNumber)
        }
    }

    /// Modules whose package is not told by a prefix.
    static let packages: [String: String] = [
        "Swift": "Swift standard library", "_Concurrency": "Swift standard library",
        "_StringProcessing": "Swift standard library", "RegexBuilder": "Swift standard library",
        "Synchronization": "Swift standard library", "Distributed": "Swift standard library",
        "Observation": "Swift standard library", "_RegexParser": "Swift standard library",
        "Swift runtime": "Swift standard library", "__C": "Swift standard library",
        "Foundation": "Foundation (full)", "FoundationNetworking": "Foundation (full)",
        "FoundationXML": "Foundation (full)", "CoreFoundation": "Foundation (full)",
        "FoundationEssentials": "FoundationEssentials", "_FoundationCShims": "FoundationEssentials",
        "_FoundationCollections": "FoundationEssentials",
        "FoundationInternationalization": "FoundationInternationalization + ICU",
        "ICU": "FoundationInternationalization + ICU", "_FoundationICU": "FoundationInternationalization + ICU",
        "Dispatch": "Dispatch", "AsyncHTTPClient": "async-http-client",
        "Crypto": "swift-crypto", "_CryptoExtras": "swift-crypto", "CryptoBoringWrapper": "swift-crypto",
        "CCryptoBoringSSL": "swift-crypto", "CCryptoBoringSSLShims": "swift-crypto",
        "NIOSSL": "swift-nio-ssl", "CNIOBoringSSL": "swift-nio-ssl", "CNIOBoringSSLShims": "swift-nio-ssl",
        "NIOHTTP2": "swift-nio-http2", "NIOHPACK": "swift-nio-http2",
        "NIOExtras": "swift-nio-extras", "NIOHTTPCompression": "swift-nio-extras", "NIOSOCKS": "swift-nio-extras",
        "NIOTransportServices": "swift-nio-transport-services",
        "Yams": "Yams", "CYaml": "Yams", "Logging": "swift-log",
        "ServiceLifecycle": "swift-service-lifecycle", "UnixSignals": "swift-service-lifecycle",
        "ConcurrencyHelpers": "swift-service-lifecycle", "SystemPackage": "swift-system",
        "Atomics": "swift-atomics", "_AtomicsShims": "swift-atomics", "Algorithms": "swift-algorithms",
        "DequeModule": "swift-collections", "OrderedCollections": "swift-collections",
        "InternalCollectionsUtilities": "swift-collections", "_RopeModule": "swift-collections",
        "HeapModule": "swift-collections", "BitCollections": "swift-collections",
        "HashTreeCollections": "swift-collections",
        "ServiceContextModule": "swift-service-context", "Tracing": "swift-distributed-tracing",
        "Instrumentation": "swift-distributed-tracing", "HTTPTypes": "swift-http-types",
        "StructuredFieldValues": "swift-http-structured-headers", "Configuration": "swift-configuration",
        "Generation": "coursegen", "Watcher": "coursegen", "coursegen": "coursegen", "CLinux": "coursegen",
        "libinotifytools": "libinotifytools", "C++ (other)": "C/C++ (other)", "C (other)": "C/C++ (other)",
    ]

    static let packagePrefixes: [(prefix: String, package: String)] = [
        ("ArgumentParser", "swift-argument-parser"),
        ("NIO", "swift-nio"), ("_NIO", "swift-nio"), ("CNIO", "swift-nio"),
    ]
}
