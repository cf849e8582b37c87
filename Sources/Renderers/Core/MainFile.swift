/// Picks the file a renderer serves when the client names none.
public enum MainFile {
    /// The first of `names` present in `files`, else the only file, else nil.
    public static func select(in files: [String: String], names: [String]) -> String? {
        if let name = names.first(where: { files[$0] != nil }) { return name }
        if files.count == 1 { return files.keys.first }
        return nil
    }

    /// The diagnostic for a config whose main file cannot be chosen (nil when it can).
    static func problem(in files: [String: String], names: [String], format: String) -> Diagnostic? {
        if files.isEmpty {
            return Diagnostic(file: "", message: "a \(format) config needs a file (e.g. \(names[0]))")
        }
        if select(in: files, names: names) == nil {
            return Diagnostic(file: files.keys.sorted().joined(separator: ", "),
                              message: "several files and none is named \(names.joined(separator: ", ")): name the main \(format) file one of these")
        }
        return nil
    }
}
