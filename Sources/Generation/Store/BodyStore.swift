import Foundation
import Providers

/// Generated chapter bodies, one file per chapter key: `STATE/store/<2 hex>/<key>.json`.
///
/// A body is written here, fsync'd with its folder, the moment the API returns it and before it
/// is used for anything else, so a crash, a kill or a power cut never pays for a chapter twice.
struct BodyStore: Sendable {
    /// A stored answer.
    struct Body: Sendable, Hashable, Codable {
        public var key: String
        public var text: String
        public var usage: Usage
        public var model: String
        public var modelVersion: String?
        public var createdAt: Date
        /// What its tokens were billed at; nil (standard) in bodies stored before tiers.
        public var tier: BillingTier?

        public init(
            key: ChapterKey,
            text: String,
            usage: Usage,
            model: String,
            modelVersion: String?,
            createdAt: Date = Date(),
            tier: BillingTier = .standard
        ) {
            self.key = key.hex
            self.text = text
            self.usage = usage
            self.model = model
            self.modelVersion = modelVersion
            self.createdAt = createdAt
            self.tier = tier == .standard ? nil : tier
        }
    }

    /// The store's root folder.
    let directory: String
    let files: FileSystem

    init(directory: String, files: FileSystem = .posix) {
        self.directory = directory
        self.files = files
    }

    func path(for key: ChapterKey) -> String {
        "\(directory)/\(key.hex.prefix(2))/\(key.hex).json"
    }

    /// True when a body for `key` is stored.
    func contains(_ key: ChapterKey) -> Bool {
        files.kind(of: path(for: key)) == .file
    }

    /// The body stored for `key`, nil if there is none. A file that cannot be decoded (a disk
    /// error) is treated as missing, so the chapter is generated again rather than never.
    func body(for key: ChapterKey) throws(FileError) -> Body? {
        guard let body = try files.readJSON(Body.self, at: path(for: key)), body.key == key.hex else { return nil }
        return body
    }

    /// Stores `body` durably (temporary file, fsync, rename, fsync the folder).
    func save(_ body: Body) throws(FileError) {
        guard let key = ChapterKey(hex: body.key) else {
            preconditionFailure("a body's key is always a ChapterKey's hex")
        }
        try files.saveJSON(body, at: path(for: key))
    }

    /// Every stored key with the age of its file in seconds.
    func allKeys(now: Date = Date()) throws(FileError) -> [(key: ChapterKey, age: TimeInterval)] {
        var result: [(ChapterKey, TimeInterval)] = []
        for prefix in try files.entries(of: directory) where prefix.utf8.count == 2 {
            for name in try files.entries(of: "\(directory)/\(prefix)") where name.hasSuffix(".json") {
                guard let key = ChapterKey(hex: String(name.dropLast(5))) else { continue }
                let age = files.age(of: "\(directory)/\(prefix)/\(name)", now: now.timeIntervalSince1970)
                result.append((key, age ?? 0))
            }
        }
        return result
    }

    /// Removes the body for `key`.
    func remove(_ key: ChapterKey) throws(FileError) {
        try files.remove(path(for: key))
    }

    /// Removes temporary files older than `age` seconds left by a crash mid-write.
    func removeStaleTemporaries(olderThan age: TimeInterval, now: Date = Date()) throws(FileError) -> Int {
        var removed = 0
        for prefix in try files.entries(of: directory) where prefix.utf8.count == 2 {
            let folder = "\(directory)/\(prefix)"
            for name in try files.entries(of: folder) where name.hasPrefix(".tmp-") {
                if let fileAge = files.age(of: "\(folder)/\(name)", now: now.timeIntervalSince1970), fileAge > age {
                    try files.remove("\(folder)/\(name)")
                    removed += 1
                }
            }
        }
        return removed
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// How the state folder keeps its records: as JSON, one per file.
extension FileSystem {
    /// The record at `path`; nil when there is none or it cannot be decoded (a damaged record
    /// counts as missing).
    func readJSON<T: Decodable>(_ type: T.Type, at path: String) throws(FileError) -> T? {
        guard let bytes = try read(path) else { return nil }
        return try? BodyStore.decoder.decode(T.self, from: Data(bytes))
    }

    /// Every record in `folder` that can be decoded, in name order.
    func readAllJSON<T: Decodable>(_ type: T.Type, in folder: String) throws(FileError) -> [T] {
        var records: [T] = []
        for name in try entries(of: folder).sorted() where name.hasSuffix(".json") {
            if let record = try readJSON(T.self, at: "\(folder)/\(name)") { records.append(record) }
        }
        return records
    }

    /// Keeps `value` at `path` durably (`replaceDurably`), making its folder if missing; readable
    /// by the owner's group (a shared state folder).
    func saveJSON(_ value: some Encodable, at path: String) throws(FileError) {
        let bytes: [UInt8]
        do { bytes = Array(try BodyStore.encoder.encode(value)) } catch {
            preconditionFailure("encoding \(type(of: value)) cannot fail: \(error)")
        }
        try makeDirectory(
            String(path.prefix(upTo: path.lastIndex(of: "/")!)),
            mode: [.ownerReadWriteExecute, .groupReadExecute]
        )
        try replaceDurably(bytes, at: path, mode: [.ownerReadWrite, .groupRead])
    }
}
