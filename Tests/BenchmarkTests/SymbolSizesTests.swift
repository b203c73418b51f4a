import Testing

@testable import coursegen_bench

@Suite("What each dependency adds to the binary")
struct SymbolSizesTests {
    @Test(
        "a symbol belongs to the Swift module its mangled name starts with, an extension to the extending module",
        arguments: [
            ("$s7NIOCore10ByteBufferV12writeStringySiSSF", "NIOCore"),
            (
                "$sSS20FoundationEssentialsE11_charactersSSAA16AttributedStringV13CharacterViewV_tcfC",
                "FoundationEssentials"
            ),
            ("$s10Foundation4DataV7NIOCoreE6bufferAcD10ByteBufferV_tcfC", "NIOCore"),
            ("$sSo4statV20FoundationEssentialsE14fileAttributesSDyAC16FileAttributeKeyVypGvg", "FoundationEssentials"),
            ("$sSo13BPlistTraileraMB", "__C"),
            ("$sScT11isCancelledSbvg", "_Concurrency"),
            ("$sSiN", "Swift"),
            ("$ss5print_9separator10terminatoryypd_S2StF", "Swift"),
            ("$s10Generation9SchedulerC8generate_6logger7onEventAA15ChapterResponseVAA0F7RequestV_tYaKF", "Generation"),
        ]
    )
    func swiftModules(symbol: String, module: String) {
        #expect(SymbolSizes.module(of: symbol) == module)
    }

    @Test(
        "C and C++ symbols belong to the library their prefix names; ICU by namespace, data and C API",
        arguments: [
            ("_ZN6icu_7613UnicodeString6appendEi", "ICU"), ("_ZNK6icu_766Locale7getNameEv", "ICU"),
            ("icudt76_dat", "ICU"), ("swift_u_strlen", "ICU"), ("swift_ucol_open", "ICU"), ("uprv_svc_hook", "ICU"),
            ("swift_unknownObjectRetain", "Swift runtime"), ("swift_retain", "Swift runtime"),
            ("_ZN5swift9Demangle4Node8addChildEPS1_RNS0_10NodeFactoryE", "Swift runtime"),
            ("CCryptoBoringSSL_SHA256", "CCryptoBoringSSL"), ("CNIOBoringSSL_SSL_new", "CNIOBoringSSL"),
            ("yaml_parser_parse", "CYaml"), ("c_nio_llhttp_execute", "CNIO (C shims and llhttp)"),
            ("__CFStringCreateImmutableFunnel3", "CoreFoundation"), ("dispatch_async", "Dispatch"),
            ("_ZNSt6vectorIiSaIiEE9push_backERKi", "C++ (other)"), ("main", "C (other)"),
        ]
    )
    func cModules(symbol: String, module: String) {
        #expect(SymbolSizes.module(of: symbol) == module)
    }

    @Test(
        "modules group into the packages that bring them",
        arguments: [
            ("NIOCore", "swift-nio"), ("NIOPosix", "swift-nio"), ("_NIODataStructures", "swift-nio"),
            ("CNIO (C shims and llhttp)", "swift-nio"), ("NIOSSL", "swift-nio-ssl"), ("NIOHTTP2", "swift-nio-http2"),
            ("AsyncHTTPClient", "async-http-client"), ("CCryptoBoringSSL", "swift-crypto"),
            ("ICU", "FoundationInternationalization + ICU"), ("Foundation", "Foundation (full)"),
            ("FoundationEssentials", "FoundationEssentials"), ("Swift runtime", "Swift standard library"),
            ("ArgumentParserToolInfo", "swift-argument-parser"), ("Watcher", "coursegen"), ("Mystery", "Mystery"),
        ]
    )
    func packages(module: String, package: String) {
        #expect(SymbolSizes.dependency(ofModule: module) == package)
    }

    @Test("nm lines give name and size; lines without a size are skipped; sizes add up per group, largest first")
    func breakdown() {
        let output = """
            0000000000401000 0000000000000010 T $s7NIOCore10ByteBufferV12writeStringySiSSF
            0000000000402000 0000000000000030 T $s7NIOPosix14NIOThreadPoolC3runyyF
            0000000000500000 0000000002066f20 R icudt76_dat
                             U free
            0000000000403000 0000000000000008 T main

            """
        let symbols = SymbolSizes.parse(nmOutput: output)
        #expect(symbols.map(\.size) == [0x10, 0x30, 0x2066f20, 8])
        let groups = SymbolSizes.breakdown(symbols) { SymbolSizes.dependency(ofModule: SymbolSizes.module(of: $0)) }
        #expect(groups.map(\.group) == ["FoundationInternationalization + ICU", "swift-nio", "C/C++ (other)"])
        #expect(groups.map(\.bytes) == [0x2066f20, 0x40, 8])
    }
}
