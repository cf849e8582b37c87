"""Several bootgate replicas on one real etcd cluster (three members on 127.0.0.1)."""
import json
import os
import sys
import threading
import time

import pytest

from conftest import HOSTS, Server, host, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcd_cluster import EtcdCluster  # noqa: E402



@pytest.fixture(scope="module")
def cluster():
    c = EtcdCluster(3)
    yield c
    c.close()


def clear(cluster):
    """Removes everything bootgate keeps under its prefix."""
    for name in cluster.names:
        if cluster.procs[name].poll() is None:
            cluster.call(name, "/v3/kv/deleterange", {"key": "L2Jvb3RnYXRlLw==", "range_end": "L2Jvb3RnYXRlMA=="})
            return


@pytest.fixture
def replicas(cluster):
    """Two replicas on a fresh key prefix of the shared cluster, the same sealing key."""
    a = Server(examples=True, extra=["--store", cluster.store_url])
    b_data_key = os.path.join(a.data, "secret.key")
    b = Server(examples=False, extra=["--store", cluster.store_url], key_from=b_data_key)
    yield a, b
    b.close()
    a.close()
    clear(cluster)  # each test starts from an empty store


def race(*calls):
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i, f):
        start.wait()
        results[i] = f()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_write_on_one_replica_reaches_the_others_watch(replicas):
    a, b = replicas
    assert wait_for(lambda: b.get(HOSTS + "/server1").status == 200)
    rv = b.get(HOSTS).body["metadata"]["resourceVersion"]
    import http.client
    import json
    conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=5)
    conn.request("GET", HOSTS + "?watch=true&resourceVersion=" + rv)
    resp = conn.getresponse()
    t0 = time.time()
    r = a.patch(HOSTS + "/server1", {"metadata": {"labels": {"from": "a"}}})
    assert r.status == 200
    while True:
        line = resp.readline()
        if line.strip():
            event = json.loads(line)
            break
    assert time.time() - t0 < 1.0
    assert event["object"]["metadata"]["labels"]["from"] == "a"
    assert event["object"]["metadata"]["resourceVersion"] == r.body["metadata"]["resourceVersion"]
    conn.close()


def test_one_resource_version_patched_on_both_replicas(replicas):
    a, b = replicas
    assert wait_for(lambda: b.get(HOSTS + "/server1").status == 200)
    for i in range(100):
        rv = a.get(HOSTS + "/server1").body["metadata"]["resourceVersion"]
        assert wait_for(lambda: b.get(HOSTS + "/server1").body["metadata"]["resourceVersion"] == rv)
        body = lambda who: {"metadata": {"resourceVersion": rv, "labels": {"round": str(i), "who": who}}}
        ra, rb = race(lambda: a.patch(HOSTS + "/server1", body("a")), lambda: b.patch(HOSTS + "/server1", body("b")))
        assert sorted([ra.status, rb.status]) == [200, 409], (ra, rb)


def test_deleting_a_config_while_another_replica_assigns_it(replicas):
    a, b = replicas
    config = {"metadata": {"name": "racy"}, "spec": {"format": "custom", "data": {"a": "b"}}}
    for i in range(100):
        assert a.post("/api/v1/bootconfigs", config).status == 201
        name = f"racer{i}"
        assert a.post(HOSTS, host(name, "52:54:00:aa:%02x:%02x" % (i // 256, i % 256), image="localboot")).status == 201
        assert wait_for(lambda: b.get("/api/v1/bootconfigs/racy").status == 200 and b.get(HOSTS + "/" + name).status == 200)
        rd, rp = race(lambda: a.delete("/api/v1/bootconfigs/racy"), lambda: b.patch(HOSTS + "/" + name, {"spec": {"bootConfigRef": "racy"}}))
        assert [rd.status < 300, rp.status < 300].count(True) == 1, (rd, rp)
        # Whatever won, no rule is broken, on either replica.
        assert wait_for(lambda: a.get(HOSTS + "/" + name).body == b.get(HOSTS + "/" + name).body)
        for s in (a, b):
            assert s.get("/api/v1/violations").body["items"] == []
        if rp.status < 300:
            assert b.patch(HOSTS + "/" + name, {"spec": {"bootConfigRef": ""}}).status == 200
            assert wait_for(lambda: a.delete("/api/v1/bootconfigs/racy").status == 200)
        assert wait_for(lambda: b.get("/api/v1/bootconfigs/racy").status == 404)


def test_one_mac_claimed_on_both_replicas(replicas):
    a, b = replicas
    for i in range(50):
        mac = "52:54:00:bb:%02x:%02x" % (i // 256, i % 256)
        ra, rb = race(lambda: a.post(HOSTS, host(f"ma{i}", mac)), lambda: b.post(HOSTS, host(f"mb{i}", mac)))
        assert sorted([ra.status, rb.status]) == [201, 409], (ra, rb)
    assert wait_for(lambda: len(a.get(HOSTS).body["items"]) == len(b.get(HOSTS).body["items"]) == 51)


def test_one_ip_claimed_on_both_replicas(replicas):
    """Two hosts with one spec.ip would make the config path ambiguous: like a MAC, an address
    is claimed in the commit's Txn, so of two replicas racing for it exactly one wins."""
    a, b = replicas
    for i in range(30):
        ip = "10.77.%d.%d" % (i // 256, i % 256)
        ra, rb = race(lambda: a.post(HOSTS, host(f"ia{i}", "52:54:00:cc:00:%02x" % i, ip=ip)),
                      lambda: b.post(HOSTS, host(f"ib{i}", "52:54:00:cd:00:%02x" % i, ip=ip)))
        assert sorted([ra.status, rb.status]) == [201, 409], (ra, rb)
    assert wait_for(lambda: len(a.get(HOSTS).body["items"]) == len(b.get(HOSTS).body["items"]) == 31)
    for s in (a, b):
        assert s.get("/api/v1/violations").body["items"] == []


def test_sigkill_of_a_member_and_a_replica_mid_write(cluster, replicas):
    a, b = replicas
    acknowledged, stop = [], threading.Event()

    def writer(server, prefix):
        i = 0
        while not stop.is_set():
            try:
                r = server.post(HOSTS, host(f"{prefix}{i}", "52:54:00:cc:%02x:%02x" % (ord(prefix[1]), i % 256)))
            except OSError:  # the replica was killed under this request: not acknowledged
                return
            if r.status == 201:
                acknowledged.append(f"{prefix}{i}")
            i += 1
            if i >= 250:
                return

    wa = threading.Thread(target=writer, args=(a, "ka"))
    wb = threading.Thread(target=writer, args=(b, "kb"))
    wa.start()
    wb.start()
    time.sleep(0.5)
    cluster.kill(cluster.names[0])
    b.kill()
    time.sleep(0.5)
    stop.set()
    wa.join()
    wb.join()
    # The other replica kept serving on the two members left.
    assert a.post(HOSTS, host("after-kill", "52:54:00:cc:ff:ff")).status == 201
    acknowledged.append("after-kill")
    b.start()
    cluster.start(cluster.names[0])
    cluster.wait_healthy()
    for s in (a, b):
        assert wait_for(lambda: set(acknowledged) <= {h["metadata"]["name"] for h in s.get(HOSTS).body["items"]}, 20)
    assert wait_for(lambda: a.get(HOSTS).body["items"] == b.get(HOSTS).body["items"], 10)


def test_etcd_unreachable_then_back(cluster, replicas):
    a, b = replicas
    for name in cluster.names:
        cluster.kill(name)
    try:
        assert wait_for(lambda: "unreachable" in a.get("/healthz", raw=True).text, 15), a.get("/healthz", raw=True).text
        assert a.get(HOSTS + "/server1").status == 200
        assert a.get("/ipxe?mac=ac:1f:6b:8a:a7:9c", raw=True).status == 200
        r = a.patch(HOSTS + "/server1", {"metadata": {"labels": {"down": "yes"}}})
        assert r.status == 503 and "etcd" in r.body["message"], r
    finally:
        for name in cluster.names:
            cluster.start(name)
        cluster.wait_healthy()
    assert wait_for(lambda: a.patch(HOSTS + "/server1", {"metadata": {"labels": {"down": "no"}}}).status == 200, 20)
    assert wait_for(lambda: b.get(HOSTS + "/server1").body["metadata"]["labels"].get("down") == "no", 20)
    assert "unreachable" not in a.get("/healthz", raw=True).text


def test_a_watch_from_a_compacted_revision_is_gone(cluster, replicas):
    a, b = replicas
    old = a.get(HOSTS).body["metadata"]["resourceVersion"]
    for i in range(3):
        assert a.patch(HOSTS + "/server1", {"metadata": {"labels": {"n": str(i)}}}).status == 200
    now = int(a.get(HOSTS).body["metadata"]["resourceVersion"])
    cluster.compact(now)
    # A replica started now has none of that history in memory, and etcd has none either.
    b.restart()
    r = b.get(HOSTS + "?watch=true&resourceVersion=" + str(int(old) - 1))
    assert r.status == 410 and "too old" in r.body["message"], r
    # From the current revision it watches as usual.
    assert b.get(HOSTS + "?watch=true&timeoutSeconds=1&resourceVersion=" + str(now)).status == 200


def test_migrate_between_sqlite_etcd_and_mkube(cluster, tmp_path):
    import subprocess
    from conftest import BINARY
    clear(cluster)
    source = Server(examples=True)
    assert source.post(HOSTS, host("extra", "52:54:00:dd:00:01", bmc={"address": "10.0.0.9", "username": "u", "password": "s3cret"})).status == 201
    source.stop()  # a data folder belongs to one process
    key = str(tmp_path / "etcd.key")

    def migrate(src, dst):
        return subprocess.run([BINARY, "migrate", "--from", src, "--to", dst, "--etcd-secret-key", key], capture_output=True, text=True, timeout=60)

    r = migrate("sqlite:" + source.data, cluster.store_url)
    assert r.returncode == 0 and "verified" in r.stdout and "0 already there" in r.stdout, r.stdout + r.stderr
    again = migrate("sqlite:" + source.data, cluster.store_url)
    assert again.returncode == 0 and " 0 copied" in again.stdout, again.stdout
    # Sealed again with the etcd key, and back into a new SQLite folder with its own.
    back = tmp_path / "back"
    r = migrate(cluster.store_url, "sqlite:" + str(back))
    assert r.returncode == 0, r.stdout + r.stderr
    replica = Server(examples=False, extra=["--store", cluster.store_url])
    replica.stop()
    import shutil as sh
    sh.copy(key, os.path.join(replica.data, "secret.key"))
    replica.start()
    h = replica.get(HOSTS + "/extra?includeSecrets=true").body
    assert h["spec"]["bmc"]["password"] == "s3cret"
    assert sorted(o["metadata"]["name"] for o in replica.get(HOSTS).body["items"]) == ["extra", "server1"]
    replica.close()
    # An mkube (here a bootgate speaking its API) into SQLite.
    mkube = Server(examples=True)
    r = migrate(mkube.url, "sqlite:" + str(tmp_path / "from-mkube"))
    assert r.returncode == 0 and "verified" in r.stdout, r.stdout + r.stderr
    mkube.close()
    source.close()


def test_tls_to_etcd(tmp_path):
    """A member that takes only TLS clients with a certificate from its CA."""
    import subprocess
    from etcd_cluster import free_ports
    d = str(tmp_path)

    def sh(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=d)

    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca")
    for name in ("server", "client"):
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            # etcd's JSON gateway calls its own gRPC server with the server certificate, so that
            # one must be good for client authentication too.
            f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=" + ("serverAuth,clientAuth" if name == "server" else "clientAuth") + "\n")
        sh("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext")
    client_port, peer_port = free_ports(2)
    etcd = subprocess.Popen(["etcd", "--name", "tls", "--data-dir", os.path.join(d, "data"),
                             "--listen-client-urls", f"https://127.0.0.1:{client_port}", "--advertise-client-urls", f"https://127.0.0.1:{client_port}",
                             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                             "--initial-cluster", f"tls=http://127.0.0.1:{peer_port}",
                             "--cert-file", os.path.join(d, "server.pem"), "--key-file", os.path.join(d, "server.key"),
                             "--trusted-ca-file", os.path.join(d, "ca.pem"), "--client-cert-auth"],
                            stdout=open(os.path.join(d, "etcd.log"), "wb"), stderr=subprocess.STDOUT)
    try:
        time.sleep(2)
        tls = ["--etcd-ca", os.path.join(d, "ca.pem"), "--etcd-cert", os.path.join(d, "client.pem"), "--etcd-key", os.path.join(d, "client.key")]
        s = Server(examples=True, extra=["--store", f"etcd://127.0.0.1:{client_port}"] + tls)
        try:
            assert s.get(HOSTS + "/server1").status == 200
            assert s.patch(HOSTS + "/server1", {"metadata": {"labels": {"tls": "yes"}}}).status == 200
            s.restart()
            assert s.get(HOSTS + "/server1").body["metadata"]["labels"]["tls"] == "yes"
        finally:
            s.close()
        # Without a client certificate the member refuses it, and bootgate says so.
        with pytest.raises(RuntimeError, match="etcd"):
            Server(examples=False, extra=["--store", f"etcd://127.0.0.1:{client_port}", "--etcd-ca", os.path.join(d, "ca.pem")])
    finally:
        etcd.kill()
        etcd.wait()


def test_a_watch_resumes_on_the_other_replica(replicas):
    """resourceVersion is etcd's revision: a client that watched A resumes on B."""
    a, b = replicas
    rv = a.get(HOSTS).body["metadata"]["resourceVersion"]
    assert a.patch(HOSTS + "/server1", {"metadata": {"labels": {"seen": "on-b"}}}).status == 200
    assert wait_for(lambda: b.get(HOSTS + "/server1").body["metadata"].get("labels", {}).get("seen") == "on-b")
    r = b.get(HOSTS + "?watch=true&timeoutSeconds=1&resourceVersion=" + rv, raw=True)
    events = [json.loads(l) for l in r.payload.splitlines() if l.strip()]
    assert [e["object"]["metadata"]["labels"]["seen"] for e in events if e["type"] == "MODIFIED"] == ["on-b"]


def test_events_and_audit_records_on_etcd(replicas):
    """Boot events are written in batches within etcd's --max-txn-ops (a storm of 120 boots on
    one replica), both replicas see them; each write's audit record is in its etcd Txn."""
    a, b = replicas
    for i in range(120):
        assert a.post(HOSTS, host(f"storm{i}", "52:54:00:ee:%02x:%02x" % (i // 256, i % 256), image="localboot")).status == 201
    for i in range(120):
        assert a.get("/ipxe?mac=52:54:00:ee:%02x:%02x" % (i // 256, i % 256), raw=True).status == 200

    def stored(s):
        return [e for e in s.get("/api/v1/bootevents?fieldSelector=type%3Dipxe").body["items"] if e["host"].startswith("default/storm")]
    assert wait_for(lambda: len(stored(a)) == 120 and len(stored(b)) == 120, seconds=30), (len(stored(a)), len(stored(b)))
    # 120 events of 48 per commit: the events share few revisions, not 120.
    assert len({e["metadata"]["resourceVersion"] for e in stored(b)}) <= 6
    records = b.get("/api/v1/auditevents?fieldSelector=verb%3Dcreate").body["items"]
    mine = [r for r in records if r["object"]["name"].startswith("storm")]
    assert len(mine) == 120
    assert all(r["resourceVersionAfter"] == r["metadata"]["resourceVersion"] for r in mine)


def test_event_retention_on_etcd(cluster):
    """Two replicas trim the same events (deletes in batches within --max-txn-ops; a race between
    them fails one batch, redone later): the count settles at the limit on both."""
    a = Server(examples=False, extra=["--store", cluster.store_url, "--boot-event-retention", "20"])
    b = Server(examples=False, extra=["--store", cluster.store_url, "--boot-event-retention", "20"],
               key_from=os.path.join(a.data, "secret.key"))
    try:
        for i in range(60):
            (a if i % 2 else b).get("/ipxe?mac=52:54:00:dd:00:%02x" % i, raw=True)

        def count(s):
            return len(s.get("/api/v1/bootevents").body["items"])
        assert wait_for(lambda: 20 <= count(a) <= 21 and count(a) == count(b), seconds=30), (count(a), count(b))
    finally:
        b.close()
        a.close()
        clear(cluster)


def test_one_replica_drives_the_bmcs_and_another_takes_over(cluster):
    """Both replicas run power control; one leads (an etcd key under a lease) and does every
    action, whichever replica was asked: each action reaches the BMC once. Killed, the leader
    is replaced within the lease's 6 s, and what was asked meanwhile is done then."""
    from bmc_peers import IPMIBmc
    if not os.path.exists("/usr/bin/ipmitool"):
        pytest.skip("ipmitool is not installed")
    power = ["--store", cluster.store_url, "--power-poll-interval", "1", "--power-timeout", "10"]
    bmc = IPMIBmc()
    a = Server(examples=False, extra=power, power=True)
    b = Server(examples=False, extra=power, power=True, key_from=os.path.join(a.data, "secret.key"))
    try:
        leads = lambda s: "power: this replica" in s.logtext() and "leads" in s.logtext()
        assert wait_for(lambda: leads(a) or leads(b), seconds=20), "a power leader"
        assert not (leads(a) and leads(b))
        leader, other = (a, b) if leads(a) else (b, a)
        body = host("h1", "52:54:00:aa:00:01")
        body["spec"]["bmc"] = {"address": bmc.address(), "username": "admin", "password": "secret"}
        assert a.post(HOSTS, body).status == 201

        def sent(command):
            return [c for c in bmc.state()["commands"] if c == command]

        # Asked at the replica that does not lead: done once, by the leader.
        assert other.post(f"{HOSTS}/h1/power", {"action": "on"}).status == 202
        assert wait_for(lambda: bmc.state()["power"] == "on", seconds=30), "BMC on"
        assert other.post(f"{HOSTS}/h1/power", {"action": "restart"}).status == 202
        assert wait_for(lambda: sent("reset"), seconds=30), "the reset"
        time.sleep(3)  # both replicas have long seen both changes
        assert len(sent("on")) == 1 and len(sent("reset")) == 1, bmc.state()["commands"]
        assert "over IPMI" in " ".join(e["detail"] for e in other.get("/api/v1/events?host=default/h1").body["items"])
        # The replica that does not lead shows what the leader stored; the leader, its reads.
        reading = lambda s: s.get("/api/v1/baremetalhosts/power").body["items"]
        assert wait_for(lambda: [(r["host"], r["poweredOn"], r["source"], r["protocol"]) for r in reading(other)] == [("default/h1", True, "store", "IPMI")], seconds=10), reading(other)
        assert [(r["source"], r["poweredOn"]) for r in reading(leader)] == [("bmc", True)], reading(leader)
        assert reading(leader)[0]["readAt"] and reading(other)[0]["readAt"] is None

        # The leader dies; asked before anyone leads again, the other replica does it once it
        # has taken the lead (the request is in the store, not yet noted as answered).
        leader.kill()
        assert other.post(f"{HOSTS}/h1/power", {"action": "off"}).status == 202
        assert not leads(other)
        assert wait_for(lambda: leads(other), seconds=30), "the other replica leading"
        assert wait_for(lambda: bmc.state()["power"] == "off", seconds=30), "BMC off"
        time.sleep(2)
        assert len(sent("off")) == 1, bmc.state()["commands"]
        annotations = other.get(f"{HOSTS}/h1").body["metadata"]["annotations"]
        assert annotations["bootgate.io/power-request-done"] == annotations["bootgate.io/power-request"]
    finally:
        b.close()
        a.close()
        bmc.close()
        clear(cluster)
