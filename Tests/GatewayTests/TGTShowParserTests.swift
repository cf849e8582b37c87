import Testing
@testable import Gateway

@Suite struct TGTShowParserTests {
    // As tgtadm 1.0.85 prints it (abridged): a controller at LUN 0, the CD-ROM at LUN 1.
    let show = """
        Target 1: iqn.2026-01.io.bootgate:alpha
            System information:
                Driver: iscsi
                State: ready
            I_T nexus information:
                I_T nexus: 3
                    Initiator: iqn.2010-04.org.ipxe:vm1 alias: none
                    Connection: 0
                        IP Address: 127.0.0.1
            LUN information:
                LUN: 0
                    Type: controller
                    Backing store type: null
                    Backing store path: None
                LUN: 1
                    Type: cd/dvd
                    Readonly: Yes
                    Backing store type: mmc
                    Backing store path: /srv/iso/alpha.iso
            Account information:
            ACL information:
                ALL
        Target 9: iqn.2020-01.org.example:stray
            System information:
            LUN information:
                LUN: 0
                    Type: controller
                    Backing store path: None

        """

    @Test func readsTargetsAndTheirCDROM() {
        #expect(TGTShowParser.targets(show) == [
            ExportedTarget(id: 1, iqn: "iqn.2026-01.io.bootgate:alpha", lun: 1, file: "/srv/iso/alpha.iso", sessions: 1),
            ExportedTarget(id: 9, iqn: "iqn.2020-01.org.example:stray", lun: nil, file: nil),
        ])
        #expect(TGTShowParser.targets("").isEmpty)
    }
}
