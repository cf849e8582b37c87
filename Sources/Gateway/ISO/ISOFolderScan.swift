/// Which files of the ISO folder the scan takes up, and the ISCSICdrom name each gets.
enum ISOFolderScan {
    /// `*.iso` that `spec.isoFile` may name (not hidden: an upload's temporary files start with '.').
    static func isCandidate(_ file: String) -> Bool {
        file.lowercased().hasSuffix(".iso") && ISOLibrary.fileNameProblem(file) == nil
    }

    /// The file name without `.iso`, as a DNS label: lower case, runs of other characters as one
    /// '-', at most 63 characters, no '-' at either end (`Fedora_41 (x86).iso` → `fedora-41-x86`).
    static func objectName(for file: String) -> String {
        var out = ""
        for c in file.dropLast(4).lowercased().unicodeScalars {
            if ("a"..."z").contains(c) || ("0"..."9").contains(c) {
                out.unicodeScalars.append(c)
            } else if !out.isEmpty, out.last != "-" {
                out.append("-")
            }
        }
        var name = String(out.prefix(63))
        while name.hasSuffix("-") { name.removeLast() }
        return name
    }
}
