"""mkube's three kinds as Go declares them (mkube 6ae4527, reference §1), in Go field order.

`F(name, type)` is an `omitempty` field, `A(name, type)` an always-emitted one. Structs are
never omitted even when tagged omitempty (Go cannot tell an empty struct), which is why `spec`,
`status`, `spec.bmc` and `metadata.creationTimestamp` are always present.
"""
import copy

from gojson import (Bool, Field, Float, Int, Map, Ptr, Raw, Slice, Str, Struct, Time)

STR, BOOL, TIME = Str(), Bool(), Time()


def F(name, t):
    return Field(name, t, True)


def A(name, t):
    return Field(name, t, False)


# --- k8s.io/apimachinery metav1 ---------------------------------------------------------------
OWNER_REFERENCE = Struct("OwnerReference", "v1", [
    A("apiVersion", STR), A("kind", STR), A("name", STR), A("uid", STR),
    F("controller", Ptr(BOOL)), F("blockOwnerDeletion", Ptr(BOOL))])

MANAGED_FIELDS_ENTRY = Struct("ManagedFieldsEntry", "v1", [
    F("manager", STR), F("operation", STR), F("apiVersion", STR), F("time", Ptr(TIME)),
    F("fieldsType", STR), F("fieldsV1", Raw()), F("subresource", STR)])

OBJECT_META = Struct("ObjectMeta", "v1", [
    F("name", STR), F("generateName", STR), F("namespace", STR), F("selfLink", STR),
    F("uid", STR), F("resourceVersion", STR), F("generation", Int("int64")),
    F("creationTimestamp", TIME), F("deletionTimestamp", Ptr(TIME)),
    F("deletionGracePeriodSeconds", Ptr(Int("int64"))),
    F("labels", Map(STR)), F("annotations", Map(STR)),
    F("ownerReferences", Slice(OWNER_REFERENCE)), F("finalizers", Slice(STR)),
    F("managedFields", Slice(MANAGED_FIELDS_ENTRY))])


def _object(name, spec, status):
    """TypeMeta inline + metadata + spec + status."""
    return Struct(name, "provider", [
        F("kind", STR), F("apiVersion", STR), F("metadata", OBJECT_META),
        F("spec", spec), F("status", status)])


# --- BareMetalHost (§1.1) ---------------------------------------------------------------------
BMC_DETAILS = Struct("BMCDetails", "provider", [
    F("address", STR), F("mac", STR), F("hostname", STR), F("network", STR),
    F("username", STR), F("password", STR)])

BMH_NIC_SPEC = Struct("BMHNICSpec", "provider", [
    A("mac", STR), F("ip", STR), A("role", STR), F("network", STR), F("hostname", STR)])

BMH_SPEC = Struct("BMHSpec", "provider", [
    F("bmc", BMC_DETAILS), A("bootMACAddress", STR), F("online", Ptr(BOOL)),
    F("image", STR), F("network", STR), F("ip", STR), F("hostname", STR),
    F("nextServer", STR), F("bootFile", STR), F("bootFileEfi", STR),
    F("bootConfigRef", STR), F("disk", STR), F("bootMode", STR), F("template", STR),
    F("ignition", Raw()), F("kickstart", STR), F("nics", Slice(BMH_NIC_SPEC))])

HARDWARE_DETAILS = Struct("HardwareDetails", "provider", [
    F("manufacturer", STR), F("productName", STR), F("serialNumber", STR),
    F("biosVersion", STR), F("cpuModel", STR), F("cpuCount", Int()),
    F("totalMemoryGB", Float()), F("diskInfo", STR), F("lastInventory", STR)])

NIC_INFO = Struct("NICInfo", "provider", [A("mac", STR), F("network", STR), F("ip", STR)])

BMH_STATUS = Struct("BMHStatus", "provider", [
    A("phase", STR), A("poweredOn", BOOL), F("ip", STR), F("lastBoot", STR),
    F("bootCount", Int()), F("errorMessage", STR), F("availableImages", Slice(STR)),
    F("hardware", Ptr(HARDWARE_DETAILS)), F("networkInterfaces", Map(NIC_INFO)),
    F("state", STR), F("lastStateChange", STR), F("operatorVersion", STR),
    F("serialActive", BOOL), F("ipmiReachable", BOOL)])

BAREMETALHOST = _object("BareMetalHost", BMH_SPEC, BMH_STATUS)

# --- BootConfig (§1.2) ------------------------------------------------------------------------
BOOTCONFIG = _object(
    "BootConfig",
    Struct("BootConfigSpec", "provider", [
        A("format", STR), F("description", STR), A("data", Map(STR))]),
    Struct("BootConfigStatus", "provider", [A("phase", STR), F("assignedTo", Slice(STR))]))

# --- ISCSICdrom (§1.3) ------------------------------------------------------------------------
ISCSI_SUBSCRIBER = Struct("ISCSISubscriber", "provider", [
    A("name", STR), F("initiatorIQN", STR), A("since", STR)])

ISCSICDROM = _object(
    "ISCSICdrom",
    Struct("ISCSICdromSpec", "provider", [
        A("isoFile", STR), F("description", STR), F("version", STR), A("readOnly", BOOL),
        F("bootConfigs", Slice(STR)), F("derivedFrom", STR)]),
    Struct("ISCSICdromStatus", "provider", [
        A("phase", STR), A("isoPath", STR), F("isoSize", Int("int64")), A("targetIQN", STR),
        A("portalIP", STR), A("portalPort", Int()), F("routerosID", STR),
        F("subscribers", Slice(ISCSI_SUBSCRIBER))]))


class Kind:
    """One mkube resource kind: its Go type, names and KV-key rule."""

    def __init__(self, kind, resource, schema, namespaced, display):
        self.kind, self.resource, self.schema = kind, resource, schema
        self.namespaced, self.display = namespaced, display
        self.list_kind = kind + "List"

    def key(self, obj):
        """The NATS KV key: `<ns>.<name>` for BMH, `<name>` otherwise."""
        meta = obj["metadata"]
        return meta["namespace"] + "." + meta["name"] if self.namespaced else meta["name"]

    def stub(self, key):
        """The DELETED event object: built from the KV key, everything else zero (§3)."""
        obj = self.schema.zero()
        obj["kind"], obj["apiVersion"] = self.kind, "v1"
        if self.namespaced:
            ns, _, name = key.partition(".")
            obj["metadata"]["namespace"], obj["metadata"]["name"] = ns, name
        else:
            obj["metadata"]["name"] = key
        return obj

    def encode(self, obj):
        obj = copy.copy(obj)
        obj["kind"], obj["apiVersion"] = self.kind, "v1"
        return self.schema.encode(obj)


BMH = Kind("BareMetalHost", "baremetalhosts", BAREMETALHOST, True, "BareMetalHost")
BC = Kind("BootConfig", "bootconfigs", BOOTCONFIG, False, "BootConfig")
ISO = Kind("ISCSICdrom", "iscsi-cdroms", ISCSICDROM, False, "iSCSI CDROM")
KINDS = {k.kind: k for k in (BMH, BC, ISO)}
BY_RESOURCE = {k.resource: k for k in (BMH, BC, ISO)}
