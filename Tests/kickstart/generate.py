"""Kickstart mutants for the differential test against pykickstart's ksvalidator.

Each mutant is a valid seed (seeds/*.ks, all accepted by `ksvalidator -v F43`) with one to three
mutations: options dropped, renamed, abbreviated, duplicated, given wrong values or no value,
positional arguments dropped or added, commands renamed, duplicated, removed or deprecated ones
added, conflicting commands added, sections broken. Generation is seeded, so a run is repeatable:
`python3 generate.py OUT_DIR [COUNT] [SEED]` writes the files for a look by hand.

The option names, value types and choices mutated come from pykickstart's own F43 parsers (the
oracle side), so mutations hit real options; bootgate's table is written separately.
"""
import argparse
import os
import random
import shlex
import sys

from pykickstart.base import DeprecatedCommand, RemovedCommand
from pykickstart.version import F43, makeVersion

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
VERSION = "F43"

SECTIONS = ["%pre", "%pre-install", "%post", "%onerror", "%packages", "%addon", "%anaconda", "%certificate"]
WORDS = ["yes", "no", "0", "1", "-1", "abc", "12M", "lvm", "raid1", "mac", "static", "", "x y", "/dev/sda", "none", "-5", "1.5"]


def option_table():
    """command -> [(option strings, kind, choices)] from pykickstart's F43 parsers."""
    handler = makeVersion(F43)
    table = {}
    for name, command in handler.commands.items():
        if isinstance(command, (DeprecatedCommand, RemovedCommand)):
            continue
        parser = command.op if hasattr(command, "op") else command._getParser()
        options = []
        for action in parser._actions:
            if not action.option_strings:
                continue
            if action.nargs == 0:
                kind = "flag"
            elif action.type is int:
                kind = "int"
            else:
                kind = "value"
            options.append((list(action.option_strings), kind, list(action.choices or [])))
        table[name] = options
    removed = sorted(n for n, c in handler.commands.items() if isinstance(c, RemovedCommand))
    deprecated = sorted(n for n, c in handler.commands.items() if isinstance(c, DeprecatedCommand))
    return table, removed, deprecated


OPTIONS, REMOVED, DEPRECATED = option_table()
COMMANDS = sorted(OPTIONS)
ALL_OPTION_NAMES = sorted({s for options in OPTIONS.values() for names, _, _ in options for s in names})
# Extra lines that add commands a seed may lack (conflicts, duplicates, rarely used commands).
EXTRA_LINES = [
    "autopart", "autopart --type=thinp", "reqpart", "part / --size=1000", "part swap --size=100",
    "mount /dev/sda1 /", "volgroup vg9 pv.09", "logvol /x --vgname=vg0 --name=x --size=10",
    "raid /r --device=md9 --level=0 raid.91 raid.92", "bootc --source-imgref=quay.io/x/y:1",
    "ostreesetup --osname=f --url=https://x/repo --ref=f/x", "ostreecontainer --url=quay.io/x/y",
    "user --name=ops", "group --name=ops-admins", "network --device=eth0 --bootproto=dhcp", "network --bootproto=dhcp",
    "sshkey --username=ops \"ssh-ed25519 AAAA x\"", "repo --name=updates --baseurl=http://x/", "timesource --ntp-disable",
    "lang de_DE.UTF-8", "keyboard us", "timezone UTC", "rootpw --lock", "reboot", "poweroff", "text", "graphical",
    "cmdline", "skipx", "zerombr", "mediacheck", "cdrom", "hmc", "eula --agreed", "selinux --permissive",
    "services --enabled=sshd", "firstboot --enable", "xconfig --defaultdesktop=GNOME", "zipl --no-secure-boot",
    "updates http://x/u.img", "iscsiname iqn.2000-01.org.example:x", "snapshot vg0/root --name=s1 --when=post-install",
    "btrfs /b --data=single btrfs.01", "driverdisk sdb1", "driverdisk --biospart=82p2", "fcoe --nic=eth9",
    "zfcp --devnum=0.0.1234", "realm join example.com", "authselect", "logging", "rescue", "rdp",
    "liveimg --url=http://x/i.tar", "harddrive --partition=sdb1 --dir=/x", "nfs --server=x --dir=/y",
    "url --url=http://x/os", "firewall --disabled", "clearpart --none", "ignoredisk --drives=sdc",
    "bootloader --location=none", "iscsi --ipaddr=192.0.2.9", "sshpw --username=root pw", "halt",
    "%include /tmp/part-include",
]


class Kickstart:
    """A kickstart as lines, knowing which lines are commands (outside sections)."""

    def __init__(self, text):
        self.lines = text.split("\n")

    def text(self):
        return "\n".join(self.lines)

    def command_lines(self):
        out, inside = [], False
        for i, line in enumerate(self.lines):
            s = line.strip()
            if inside:
                if s.split()[:1] == ["%end"]:
                    inside = False
                continue
            if not s or s.startswith("#"):
                continue
            if s.startswith("%"):
                inside = not s.startswith("%include")
                continue
            out.append(i)
        return out

    def header_lines(self):
        return [i for i, l in enumerate(self.lines) if l.strip().split()[:1] and l.strip().split()[0] in SECTIONS]

    def end_lines(self):
        return [i for i, l in enumerate(self.lines) if l.strip() == "%end"]


def words(line):
    return shlex.split(line, comments=True)


def join(ws):
    return " ".join(shlex.quote(w) if w else "''" for w in ws)


def typo(rng, s):
    """One edit: drop, double, swap or replace a character (keeping the leading --)."""
    head, body = ("--", s[2:]) if s.startswith("--") else ("", s)
    if len(body) < 2:
        return s + "x"
    i = rng.randrange(len(body))
    op = rng.choice(["drop", "double", "swap", "replace"])
    if op == "drop":
        body = body[:i] + body[i + 1:]
    elif op == "double":
        body = body[:i] + body[i] + body[i:]
    elif op == "swap" and i + 1 < len(body):
        body = body[:i] + body[i + 1] + body[i] + body[i + 2:]
    else:
        body = body[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz-") + body[i + 1:]
    return head + body


def option_of(command, word):
    name = word.split("=", 1)[0]
    for names, kind, choices in OPTIONS.get(command, []):
        if name in names:
            return names, kind, choices
    return None


# Each mutation takes (rng, Kickstart) and returns a short description, or None when it did not apply.

def m_drop_option(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    opts = [k for k, w in enumerate(ws) if k and w.startswith("--")]
    if not opts:
        return None
    k = rng.choice(opts)
    del ws[k]
    ks.lines[i] = join(ws)
    return f"drop option on line {i + 1}"


def m_drop_argument(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    args = [k for k, w in enumerate(ws) if k and not w.startswith("-")]
    if not args:
        return None
    del ws[rng.choice(args)]
    ks.lines[i] = join(ws)
    return f"drop argument on line {i + 1}"


def m_add_argument(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    ws.insert(rng.randrange(1, len(ws) + 1), rng.choice(["extra", "sda", "/mnt", "pv.99", "x y"]))
    ks.lines[i] = join(ws)
    return f"add argument on line {i + 1}"


def m_rename_option(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    opts = [k for k, w in enumerate(ws) if k and w.startswith("--")]
    if not opts:
        return None
    k = rng.choice(opts)
    name, eq, value = ws[k].partition("=")
    ws[k] = typo(rng, name) + eq + value
    ks.lines[i] = join(ws)
    return f"typo in option on line {i + 1}"


def m_abbreviate_option(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    opts = [k for k, w in enumerate(ws) if k and w.startswith("--") and len(w.split("=")[0]) > 4]
    if not opts:
        return None
    k = rng.choice(opts)
    name, eq, value = ws[k].partition("=")
    ws[k] = name[:rng.randrange(3, len(name))] + eq + value
    ks.lines[i] = join(ws)
    return f"abbreviate option on line {i + 1}"


def m_foreign_option(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    name = rng.choice(ALL_OPTION_NAMES)
    ws.insert(rng.randrange(1, len(ws) + 1), name + rng.choice(["", "=x", "=1"]))
    ks.lines[i] = join(ws)
    return f"add option {name} on line {i + 1}"


def m_own_option(rng, ks):
    """Add an option the command has (often creating a conflict between options)."""
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    options = OPTIONS.get(ws[0])
    if not options:
        return None
    names, kind, choices = rng.choice(options)
    name = rng.choice(names)
    if kind == "flag":
        word = name
    elif choices:
        word = f"{name}={rng.choice(choices)}"
    elif kind == "int":
        word = f"{name}={rng.choice(['0', '1', '100', '-1'])}"
    else:
        word = f"{name}={rng.choice(['x', 'luks2-hw-opal', 'btrfs', 'tmpfs', 'sda', 'http://x/', 'a=b'])}"
    ws.insert(rng.randrange(1, len(ws) + 1), word)
    ks.lines[i] = join(ws)
    return f"add own option {word} on line {i + 1}"


def m_duplicate_option(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    opts = [k for k, w in enumerate(ws) if k and w.startswith("--")]
    if not opts:
        return None
    ws.append(ws[rng.choice(opts)])
    ks.lines[i] = join(ws)
    return f"duplicate option on line {i + 1}"


def m_bad_value(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    opts = [k for k, w in enumerate(ws) if k and w.startswith("--")]
    if not opts:
        return None
    k = rng.choice(opts)
    name = ws[k].split("=", 1)[0]
    info = option_of(ws[0], ws[k])
    choices = info[2] if info else []
    value = typo(rng, rng.choice(choices)) if choices and rng.random() < 0.6 else rng.choice(WORDS)
    form = rng.random()
    if form < 0.7:
        ws[k] = f"{name}={value}"
    elif form < 0.85:
        ws[k:k + 1] = [name, value]
    else:
        ws[k] = name  # value left out (or a flag kept bare)
    ks.lines[i] = join(ws)
    return f"value {value!r} for {name} on line {i + 1}"


def m_rename_command(rng, ks):
    i = rng.choice(ks.command_lines())
    ws = words(ks.lines[i])
    ws[0] = typo(rng, ws[0]) if rng.random() < 0.7 else rng.choice(REMOVED + DEPRECATED + COMMANDS)
    ks.lines[i] = join(ws)
    return f"command {ws[0]} on line {i + 1}"


def m_duplicate_line(rng, ks):
    i = rng.choice(ks.command_lines())
    ks.lines.insert(rng.randrange(len(ks.lines) + 1) if rng.random() < 0.3 else i + 1, ks.lines[i])
    return f"duplicate line {i + 1}"


def m_drop_line(rng, ks):
    i = rng.randrange(len(ks.lines))
    del ks.lines[i]
    return f"drop line {i + 1}"


def m_add_line(rng, ks):
    line = rng.choice(EXTRA_LINES)
    cmds = ks.command_lines()
    at = rng.choice(cmds) + 1 if cmds else 0
    ks.lines.insert(at, line)
    return f"add line {line!r}"


def m_section(rng, ks):
    choice = rng.randrange(8)
    headers, ends = ks.header_lines(), ks.end_lines()
    if choice == 0 and ends:
        del ks.lines[rng.choice(ends)]
        return "drop %end"
    if choice == 1 and ends:
        ks.lines.insert(rng.choice(ends) + 1, "%end")
        return "extra %end"
    if choice == 2:
        name = typo(rng, rng.choice(SECTIONS))
        ks.lines.append(name)
        ks.lines.append("%end")
        return f"section {name}"
    if choice == 3 and headers:
        i = rng.choice(headers)
        ws = words(ks.lines[i])
        ws.append(rng.choice(["--bogus", "--erroronfail", "--nochroot", "--log", "--interpreter=/bin/sh", "--default", "--nocore",
                              "--instLangs=en", "--excludeWeakdeps", "--timeout=x", "--dir=/x", "--type=anchor", "extra"]))
        ks.lines[i] = join(ws)
        return f"header options on line {i + 1}"
    if choice == 4:
        ks.lines += ["%traceback", "echo", "%end"]
        return "%traceback"
    if choice == 5 and headers:
        i = rng.choice(headers)
        ks.lines.insert(i + 1, rng.choice(["%pre", "%post", "%packages"]))
        return "nested section"
    if choice == 6:
        ks.lines += ["%packages", rng.choice(["-", "@core --nodefaults --optional", "@^env", "pkg # comment", "-@group"]), "%end"]
        return "package line"
    if choice == 7:
        ks.lines += ["%certificate --filename=x.pem" + rng.choice(["", " --dir=/etc/x"]), rng.choice(["", "DATA"]), "%end"]
        return "certificate"
    return None


def m_random_command(rng, ks):
    """A line of any command with a few of its options, values right or wrong, and arguments."""
    command = rng.choice(COMMANDS)
    ws = [command]
    options = OPTIONS[command]
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
        if not options:
            break
        names, kind, choices = rng.choice(options)
        name = rng.choice(names)
        if kind == "flag":
            ws.append(name)
            continue
        if choices and rng.random() < 0.7:
            value = rng.choice(choices)
        elif kind == "int":
            value = rng.choice(["0", "1", "50", "100", "101", "-1", "x", " 7"])
        else:
            value = rng.choice(WORDS + ["luks2-hw-opal", "tmpfs", "btrfs", "writeback", "a=b,c=d", "eth0", "http://x/", "vg/lv", "pre-install"])
        ws.append(f"{name}={value}" if rng.random() < 0.8 else name)
        if not ws[-1].count("="):
            ws.append(value)
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        ws.insert(rng.randrange(1, len(ws) + 1), rng.choice(["/", "/home", "swap", "none", "sda1", "pv.01", "raid.01", "vg0", "us", "en_US", "x", "vg/lv", "join", "example.com"]))
    cmds = ks.command_lines()
    ks.lines.insert(rng.choice(cmds) + 1 if cmds else 0, join(ws))
    return f"add line {join(ws)!r}"


def m_quote(rng, ks):
    i = rng.choice(ks.command_lines())
    ks.lines[i] = ks.lines[i] + rng.choice([" \"unclosed", " 'unclosed", " #comment", " x#y", " \\#", " \"#quoted\""])
    return f"quoting on line {i + 1}"


MUTATIONS = [
    (m_drop_option, 8), (m_drop_argument, 6), (m_add_argument, 5), (m_rename_option, 10), (m_abbreviate_option, 4),
    (m_foreign_option, 6), (m_own_option, 10), (m_duplicate_option, 3), (m_bad_value, 12), (m_rename_command, 6),
    (m_duplicate_line, 5), (m_drop_line, 3), (m_add_line, 10), (m_section, 6), (m_quote, 3), (m_random_command, 14),
]


def seeds():
    out = {}
    for name in sorted(os.listdir(SEEDS)):
        if name.endswith(".ks"):
            with open(os.path.join(SEEDS, name)) as f:
                out[name[:-3]] = f.read()
    return out


def mutants(count, seed=18):
    """`count` (name, text, what) mutants, the same for the same seed."""
    rng = random.Random(seed)
    bases = seeds()
    names = sorted(bases)
    operators = [op for op, weight in MUTATIONS for _ in range(weight)]
    out = []
    while len(out) < count:
        base = rng.choice(names)
        ks = Kickstart(bases[base])
        done = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            operator = rng.choice(operators)
            try:
                what = operator(rng, ks)
            except ValueError:  # a line an earlier mutation left unsplittable (an open quote)
                what = None
            if what:
                done.append(what)
        if done:
            out.append((f"{len(out):05d}-{base}", ks.text(), "; ".join(done)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("count", type=int, nargs="?", default=2000)
    parser.add_argument("seed", type=int, nargs="?", default=18)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, text, what in mutants(args.count, args.seed):
        with open(os.path.join(args.out, name + ".ks"), "w") as f:
            f.write(f"# mutation: {what}\n" + text)


if __name__ == "__main__":
    sys.exit(main())
