import Testing
@testable import Gateway

@Suite struct ISOFolderScanTests {
    @Test func namesAreDNSLabelsMadeFromTheFileName() {
        #expect(ISOFolderScan.objectName(for: "Fedora_41 (x86).iso") == "fedora-41-x86")
        #expect(ISOFolderScan.objectName(for: "coreos-live.ISO") == "coreos-live")
        #expect(ISOFolderScan.objectName(for: "__.iso") == "")
        #expect(ISOFolderScan.objectName(for: String(repeating: "a", count: 62) + "-b.iso") == String(repeating: "a", count: 62))
    }

    @Test func onlyVisibleISOFilesAreTakenUp() {
        #expect(ISOFolderScan.isCandidate("alma.iso"))
        #expect(ISOFolderScan.isCandidate("ALMA.ISO"))
        #expect(!ISOFolderScan.isCandidate(".upload-alma.iso"))
        #expect(!ISOFolderScan.isCandidate("alma.iso.part"))
        #expect(!ISOFolderScan.isCandidate("notes.txt"))
    }
}
