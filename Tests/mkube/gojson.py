"""Go `encoding/json` as mkube's handlers experience it, in pure Python.

mkube decodes every body with Go's `encoding/json` onto typed structs and encodes every answer
with `json.NewEncoder(w).Encode`. A gateway in front of mkube must cope with the exact results:
unknown fields dropped, keys matched case-insensitively, `null` being a no-op on strings,
maps merged key by key, HTML characters escaped, struct fields in declaration order with their
`omitempty` rules, a trailing newline, and Go's own error texts. Python's `json` module does none
of that, so this module models Go types explicitly:

* `parse(text, mode)` is a JSON parser that keeps the raw text of every value (for
  `json.RawMessage`) and reports syntax errors with Go's scanner messages. `mode` is `"decoder"`
  (`json.Decoder.Decode`: first value only, trailing bytes ignored, `EOF` on empty input) or
  `"unmarshal"` (`json.Unmarshal`: the whole input must be one value).
* `Str`, `Bool`, `Int`, `Float`, `Ptr`, `Slice`, `Map`, `Raw`, `Time` and `Struct` are Go types.
  Each knows its zero value, how Go decodes a JSON value *onto an existing value*
  (`decode`) and how Go encodes it (`encode`). Struct values are plain dicts keyed by JSON name.
* `encode_any` writes loose Python values the way Go writes `map[string]any` (sorted keys) or
  an ordered struct (`GoStruct`, insertion order).
"""
import datetime
import re
from decimal import Decimal


# --------------------------------------------------------------------------------------------
# Errors


class GoJSONError(Exception):
    """An error whose str() is exactly what Go's `err.Error()` would print."""


class SyntaxErr(GoJSONError):
    pass


class UnmarshalTypeError(GoJSONError):
    """Go's *json.UnmarshalTypeError: decoding continues, the first one is returned at the end."""

    def __init__(self, value, gotype, struct=None, path=()):
        self.value, self.gotype, self.struct, self.path = value, gotype, struct, list(path)
        if struct or path:
            msg = "json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
                value, struct, ".".join(path), gotype)
        else:
            msg = "json: cannot unmarshal %s into Go value of type %s" % (value, gotype)
        super().__init__(msg)


# --------------------------------------------------------------------------------------------
# Parser (Go scanner messages)


class Node:
    """One parsed JSON value: `kind` is obj/arr/str/num/true/false/null; `raw` its source text."""

    __slots__ = ("kind", "value", "raw")

    def __init__(self, kind, value, raw):
        self.kind, self.value, self.raw = kind, value, raw

    def go_value_name(self):
        """The `Value` word Go puts in an UnmarshalTypeError."""
        return {"obj": "object", "arr": "array", "str": "string", "num": "number",
                "true": "bool", "false": "bool", "null": "null"}[self.kind]


_WS = " \t\r\n"


def _quote_char(c):
    """Go's scanner `quoteChar`."""
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    specials = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
                "\a": "\\a", "\v": "\\v", "\\": "\\\\"}
    if c in specials:
        return "'" + specials[c] + "'"
    if ord(c) < 0x20 or ord(c) == 0x7f:
        return "'\\x%02x'" % ord(c)
    return "'" + c + "'"


class _EOF(Exception):
    pass


class _Parser:
    def __init__(self, text):
        self.t = text
        self.i = 0

    def err(self, c, context):
        raise SyntaxErr("invalid character %s %s" % (_quote_char(c), context))

    def peek(self):
        if self.i >= len(self.t):
            raise _EOF()
        return self.t[self.i]

    def skip_ws(self):
        while self.i < len(self.t) and self.t[self.i] in _WS:
            self.i += 1

    def value(self):
        self.skip_ws()
        start = self.i
        c = self.peek()
        if c == "{":
            return self.obj(start)
        if c == "[":
            return self.arr(start)
        if c == '"':
            s = self.string()
            return Node("str", s, self.t[start:self.i])
        if c == "-" or c.isdigit() and c in "0123456789":
            self.number()
            return Node("num", self.t[start:self.i], self.t[start:self.i])
        for word in ("true", "false", "null"):
            if c == word[0]:
                self.literal(word)
                return Node(word, None, word)
        self.err(c, "looking for beginning of value")

    def literal(self, word):
        self.i += 1
        for expected in word[1:]:
            c = self.peek()
            if c != expected:
                self.err(c, "in literal %s (expecting %s)" % (word, _quote_char(expected)))
            self.i += 1

    def number(self):
        t = self.t
        if t[self.i] == "-":
            self.i += 1
            c = self.peek()
            if c not in "0123456789":
                self.err(c, "in numeric literal")
        if t[self.i] == "0":
            self.i += 1
        else:
            while self.i < len(t) and t[self.i] in "0123456789":
                self.i += 1
        if self.i < len(t) and t[self.i] == ".":
            self.i += 1
            c = self.peek()
            if c not in "0123456789":
                self.err(c, "after decimal point in numeric literal")
            while self.i < len(t) and t[self.i] in "0123456789":
                self.i += 1
        if self.i < len(t) and t[self.i] in "eE":
            self.i += 1
            c = self.peek()
            if c in "+-":
                self.i += 1
                c = self.peek()
            if c not in "0123456789":
                self.err(c, "in exponent of numeric literal")
            while self.i < len(t) and t[self.i] in "0123456789":
                self.i += 1

    def string(self):
        """Reads a string starting at the opening quote; returns its Go-decoded value."""
        self.i += 1
        out = []
        t = self.t
        while True:
            c = self.peek()
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                self.i += 1
                e = self.peek()
                simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f",
                          "n": "\n", "r": "\r", "t": "\t"}
                if e in simple:
                    out.append(simple[e])
                    self.i += 1
                elif e == "u":
                    self.i += 1
                    cp = self.hex4()
                    if 0xD800 <= cp < 0xDC00 and t[self.i:self.i + 2] == "\\u":
                        save = self.i
                        self.i += 2
                        lo = self.hex4()
                        if 0xDC00 <= lo < 0xE000:
                            out.append(chr(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)))
                            continue
                        self.i = save
                    out.append("\ufffd" if 0xD800 <= cp < 0xE000 else chr(cp))
                else:
                    self.err(e, "in string escape code")
            elif ord(c) < 0x20:
                self.err(c, "in string literal")
            else:
                out.append(c)
                self.i += 1

    def hex4(self):
        digits = ""
        for _ in range(4):
            c = self.peek()
            if c not in "0123456789abcdefABCDEF":
                self.err(c, "in \\u hexadecimal character escape")
            digits += c
            self.i += 1
        return int(digits, 16)

    def obj(self, start):
        self.i += 1
        members = []
        self.skip_ws()
        c = self.peek()
        if c == "}":
            self.i += 1
            return Node("obj", members, self.t[start:self.i])
        while True:
            self.skip_ws()
            c = self.peek()
            if c != '"':
                self.err(c, "looking for beginning of object key string")
            key = self.string()
            self.skip_ws()
            c = self.peek()
            if c != ":":
                self.err(c, "after object key")
            self.i += 1
            members.append((key, self.value()))
            self.skip_ws()
            c = self.peek()
            self.i += 1
            if c == "}":
                return Node("obj", members, self.t[start:self.i])
            if c != ",":
                self.i -= 1
                self.err(c, "after object key:value pair")

    def arr(self, start):
        self.i += 1
        items = []
        self.skip_ws()
        if self.peek() == "]":
            self.i += 1
            return Node("arr", items, self.t[start:self.i])
        while True:
            items.append(self.value())
            self.skip_ws()
            c = self.peek()
            self.i += 1
            if c == "]":
                return Node("arr", items, self.t[start:self.i])
            if c != ",":
                self.i -= 1
                self.err(c, "after array element")


def parse(text, mode="unmarshal"):
    """Parse like Go. `mode="decoder"` mimics json.Decoder.Decode (first value; `EOF`,
    `unexpected EOF`), `mode="unmarshal"` mimics json.Unmarshal (whole input; `unexpected end of
    JSON input`, `invalid character ... after top-level value`)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    p = _Parser(text)
    if mode == "decoder":
        p.skip_ws()
        if p.i >= len(text):
            raise SyntaxErr("EOF")
        try:
            return p.value()
        except _EOF:
            raise SyntaxErr("unexpected EOF")
    try:
        node = p.value()
    except _EOF:
        raise SyntaxErr("unexpected end of JSON input")
    p.skip_ws()
    if p.i < len(text):
        p.err(text[p.i], "after top-level value")
    return node


# --------------------------------------------------------------------------------------------
# Encoding helpers


def encode_string(s):
    """Go's encodeState.string with escapeHTML=true (Go >= 1.22: \\b and \\f short escapes)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20 or ch in "<>&":
            out.append("\\u%04x" % o)
        elif ch in "\u2028\u2029":
            out.append("\\u%04x" % o)
        elif 0xD800 <= o < 0xE000:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def compact_html(raw):
    """Go's `compact(dst, src, escapeHTML=true)`: what json.Marshal does to a RawMessage."""
    out = []
    in_str = esc = False
    for ch in raw:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch in _WS:
            continue
        elif ch == '"':
            in_str = True
        if ch in "<>&" or ch in "\u2028\u2029":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def encode_float(f):
    """strconv.FormatFloat(f, 'f' or 'e', -1, 64) as encoding/json picks it."""
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        s = repr(f)
        if "e" not in s:
            s = "%e" % f
        m = re.match(r"^(-?[\d.]+)e([+-])(\d+)$", s)
        mant, sign, exp = m.groups()
        exp = exp.lstrip("0") or "0"
        if sign == "+" and len(exp) < 2:
            exp = exp.zfill(2)
        return "%se%s%s" % (mant, sign, exp)
    return format(Decimal(repr(f)).normalize(), "f")


class GoStruct(dict):
    """A dict encoded in insertion order (a Go struct), not sorted (a Go map)."""


class RawJSON(str):
    """Already-encoded JSON text, inserted verbatim."""


def encode_any(v):
    """Encode loose values: dict = Go map (sorted keys), GoStruct = struct (insertion order)."""
    if isinstance(v, RawJSON):
        return str(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return encode_float(v)
    if isinstance(v, str):
        return encode_string(v)
    if isinstance(v, GoStruct):
        return "{" + ",".join(encode_string(k) + ":" + encode_any(x) for k, x in v.items()) + "}"
    if isinstance(v, dict):
        return "{" + ",".join(encode_string(k) + ":" + encode_any(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(encode_any(x) for x in v) + "]"
    raise TypeError("cannot encode %r" % (v,))


# --------------------------------------------------------------------------------------------
# Go types


class Ctx:
    """Go's decode errorContext: the innermost struct type name and the JSON field path."""

    __slots__ = ("struct", "path", "errors")

    def __init__(self, struct=None, path=(), errors=None):
        self.struct, self.path = struct, tuple(path)
        self.errors = errors if errors is not None else []

    def field(self, struct, name):
        return Ctx(struct, self.path + (name,), self.errors)

    def type_error(self, node_or_word, gotype):
        word = node_or_word if isinstance(node_or_word, str) else node_or_word.go_value_name()
        self.errors.append(UnmarshalTypeError(word, gotype, self.struct, self.path))


class GoType:
    gotype = "?"

    def zero(self):
        raise NotImplementedError

    def is_empty(self, v):
        """What `omitempty` considers empty."""
        return False

    def decode(self, cur, node, ctx):
        raise NotImplementedError

    def encode(self, v):
        raise NotImplementedError


class Str(GoType):
    gotype = "string"

    def zero(self):
        return ""

    def is_empty(self, v):
        return v == ""

    def decode(self, cur, node, ctx):
        if node.kind == "str":
            return node.value
        if node.kind != "null":
            ctx.type_error(node, self.gotype)
        return cur

    def encode(self, v):
        return encode_string(v)


class Bool(GoType):
    gotype = "bool"

    def zero(self):
        return False

    def is_empty(self, v):
        return v is False

    def decode(self, cur, node, ctx):
        if node.kind in ("true", "false"):
            return node.kind == "true"
        if node.kind != "null":
            ctx.type_error(node, self.gotype)
        return cur

    def encode(self, v):
        return "true" if v else "false"


class Int(GoType):
    def __init__(self, gotype="int"):
        self.gotype = gotype

    def zero(self):
        return 0

    def is_empty(self, v):
        return v == 0

    def decode(self, cur, node, ctx):
        if node.kind == "num":
            if re.fullmatch(r"-?\d+", node.raw) and -2 ** 63 <= int(node.raw) < 2 ** 63:
                return int(node.raw)
            ctx.type_error("number " + node.raw, self.gotype)
            return cur
        if node.kind != "null":
            ctx.type_error(node, self.gotype)
        return cur

    def encode(self, v):
        return str(int(v))


class Float(GoType):
    gotype = "float64"

    def zero(self):
        return 0.0

    def is_empty(self, v):
        return v == 0

    def decode(self, cur, node, ctx):
        if node.kind == "num":
            f = float(node.raw)
            if f in (float("inf"), float("-inf")):
                ctx.type_error("number " + node.raw, self.gotype)
                return cur
            return f
        if node.kind != "null":
            ctx.type_error(node, self.gotype)
        return cur

    def encode(self, v):
        return encode_float(float(v))


class Raw(GoType):
    """json.RawMessage: any JSON value kept verbatim (stored compacted, as json.Marshal does);
    a literal `null` is kept as `null`; nil (None) is omitted or written as `null`."""

    gotype = "json.RawMessage"

    def zero(self):
        return None

    def is_empty(self, v):
        return not v

    def decode(self, cur, node, ctx):
        return compact_html(node.raw)

    def encode(self, v):
        return v if v else "null"


_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
RFC3339_LAYOUT = "2006-01-02T15:04:05Z07:00"


def format_time(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339():
    return format_time(datetime.datetime.now(datetime.timezone.utc))


class Time(GoType):
    """metav1.Time: a struct (never omitted), `null` when zero, RFC 3339 UTC seconds otherwise.
    The zero time is represented by "" and non-zero times by their normalised string."""

    gotype = "v1.Time"

    def zero(self):
        return ""

    def decode(self, cur, node, ctx):
        if node.kind == "null":
            return ""
        if node.kind != "str":
            raise GoJSONError("json: cannot unmarshal %s into Go value of type string"
                              % node.go_value_name())
        m = _TIME_RE.match(node.value)
        if not m:
            raise GoJSONError('parsing time "%s" as "%s": cannot parse "%s" as "2006"'
                              % (node.value, RFC3339_LAYOUT, node.value))
        y, mo, d, h, mi, s, _frac, tz = m.groups()
        try:
            tzinfo = datetime.timezone.utc
            if tz != "Z":
                sign = 1 if tz[0] == "+" else -1
                tzinfo = datetime.timezone(sign * datetime.timedelta(
                    hours=int(tz[1:3]), minutes=int(tz[4:6])))
            dt = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tzinfo)
        except ValueError as e:
            raise GoJSONError('parsing time "%s": %s' % (node.value, e))
        if dt == datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc):
            return ""
        return format_time(dt)

    def encode(self, v):
        return encode_string(v) if v else "null"


class Ptr(GoType):
    """*T: None is nil (omitted with omitempty, `null` otherwise). `null` sets nil."""

    def __init__(self, elem):
        self.elem = elem
        self.gotype = elem.gotype  # Go reports the pointee type after allocating

    def zero(self):
        return None

    def is_empty(self, v):
        return v is None

    def decode(self, cur, node, ctx):
        if node.kind == "null":
            return None
        base = cur if cur is not None else self.elem.zero()
        return self.elem.decode(base, node, ctx)

    def encode(self, v):
        return "null" if v is None else self.elem.encode(v)


class Slice(GoType):
    """[]T. Go decodes array element i *onto the existing element i* (so structs inside a
    slice merge), truncates to the new length, and `[]` gives an empty non-nil slice."""

    def __init__(self, elem):
        self.elem = elem
        self.gotype = "[]" + elem.gotype

    def zero(self):
        return None

    def is_empty(self, v):
        return not v

    def decode(self, cur, node, ctx):
        if node.kind == "null":
            return None
        if node.kind != "arr":
            ctx.type_error(node, self.gotype)
            return cur
        out = []
        for i, item in enumerate(node.value):
            base = cur[i] if cur is not None and i < len(cur) else self.elem.zero()
            out.append(self.elem.decode(base, item, ctx))
        return out

    def encode(self, v):
        if v is None:
            return "null"
        return "[" + ",".join(self.elem.encode(x) for x in v) + "]"


class Map(GoType):
    """map[string]T. Decoding merges key by key into the existing map (a key is never removed);
    each value is decoded onto a fresh zero T, so `{"k":null}` stores the zero value."""

    def __init__(self, elem):
        self.elem = elem
        self.gotype = "map[string]" + elem.gotype

    def zero(self):
        return None

    def is_empty(self, v):
        return not v

    def decode(self, cur, node, ctx):
        if node.kind == "null":
            return None
        if node.kind != "obj":
            ctx.type_error(node, self.gotype)
            return cur
        out = dict(cur) if cur is not None else {}
        for key, item in node.value:
            out[key] = self.elem.decode(self.elem.zero(), item, ctx)
        return out

    def encode(self, v):
        if v is None:
            return "null"
        return "{" + ",".join(encode_string(k) + ":" + self.elem.encode(v[k]) for k in sorted(v)) + "}"


class Field:
    __slots__ = ("name", "type", "omitempty")

    def __init__(self, name, gtype, omitempty=True):
        self.name, self.type, self.omitempty = name, gtype, omitempty


def _fold(s):
    """Go's foldName: ASCII case folding plus the two Unicode oddities (ſ, Kelvin sign)."""
    return s.replace("\u017f", "s").replace("\u212a", "k").lower()


class Struct(GoType):
    """A Go struct: fields in declaration order. Unknown keys are ignored; keys match a field
    exactly first, then case-insensitively. `null` onto a struct is a no-op."""

    def __init__(self, name, pkg, fields):
        self.name = name
        self.gotype = pkg + "." + name
        self.fields = fields
        self.by_name = {f.name: f for f in fields}
        self.by_fold = {}
        for f in fields:
            self.by_fold.setdefault(_fold(f.name), f)

    def zero(self):
        return {f.name: f.type.zero() for f in self.fields}

    def lookup(self, key):
        return self.by_name.get(key) or self.by_fold.get(_fold(key))

    def decode(self, cur, node, ctx):
        if node.kind == "null":
            return cur
        if node.kind != "obj":
            ctx.type_error(node, self.gotype)
            return cur
        val = cur if cur is not None else self.zero()
        for key, item in node.value:
            f = self.lookup(key)
            if f is None:
                continue
            val[f.name] = f.type.decode(val[f.name], item, ctx.field(self.name, f.name))
        return val

    def encode(self, v):
        parts = []
        for f in self.fields:
            x = v.get(f.name, f.type.zero())
            if f.omitempty and f.type.is_empty(x):
                continue
            parts.append(encode_string(f.name) + ":" + f.type.encode(x))
        return "{" + ",".join(parts) + "}"

    # Convenience --------------------------------------------------------------------------
    def decode_bytes(self, body, onto=None, mode="decoder"):
        """Decode a request body the way mkube does; raises GoJSONError with Go's message."""
        node = parse(body, mode)
        ctx = Ctx()
        val = self.decode(onto if onto is not None else self.zero(), node, ctx) \
            if node.kind == "obj" else None
        if node.kind != "obj":
            val = onto if onto is not None else self.zero()
            if node.kind != "null":
                raise UnmarshalTypeError(node.go_value_name(), self.gotype)
        if ctx.errors:
            raise ctx.errors[0]
        return val
