/// Event objects are named by when they happened, so names sort by time and the age of an event
/// is read from its key alone (retention never parses an object): `<ms since 1970, 13 digits>-
/// <replica tag>-<sequence>`. The tag keeps two replicas (etcd) from ever picking one name.
enum EventName {
    /// Random per process.
    static let replica: String = String((0..<4).map { _ in "bcdfghjklmnpqrstvwxz2456789".randomElement()! })

    static func make(milliseconds: Int64, sequence: UInt64) -> String {
        "\(pad(String(milliseconds), 13))-\(replica)-\(pad(String(sequence), 8))"
    }

    static func milliseconds(_ name: String) -> Int64? {
        Int64(name.prefix { $0 != "-" })
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
