"""Nothing acknowledged is lost: SIGKILL the server in the middle of a stream of writes,
restart it, and find every acknowledged write."""
import threading
import time

from conftest import Server

HOSTS = "/api/v1/namespaces/default/baremetalhosts"


def test_acknowledged_writes_survive_sigkill():
    """Creates, changes (a BMC password, sealed at rest) and deletes, from several clients at
    once, killed mid-stream: every acknowledged one is on disk after the restart, with its
    resourceVersion, and no acknowledged delete comes back."""
    s = Server(examples=False)
    acked = []
    updated = {}   # host name -> (password, resourceVersion) last acknowledged
    deleted = []
    stop = threading.Event()

    def writer(prefix):
        n = 0
        while not stop.is_set():
            name = f"{prefix}-{n}"
            try:
                r = s.post("/api/v1/bootconfigs", {"metadata": {"name": name}, "spec": {"format": "custom", "data": {"f": name}}})
            except Exception:
                return
            if r.status == 201:
                acked.append((name, r.body["metadata"]["resourceVersion"]))
            n += 1

    def changer():
        # One host per step: its password changed, then every third one deleted.
        n = 0
        while not stop.is_set():
            name = f"h{n}"
            try:
                r = s.post(HOSTS, {"metadata": {"name": name, "namespace": "default"},
                                   "spec": {"bmc": {"address": f"10.99.0.{n % 250 + 1}", "username": "ADMIN", "password": f"{name}-0"},
                                            "bootMACAddress": f"02:00:00:01:{n // 256 % 256:02x}:{n % 256:02x}", "online": False}})
                if r.status != 201:
                    return
                r = s.patch(f"{HOSTS}/{name}", {"spec": {"bmc": {"password": f"{name}-1"}}})
                if r.status == 200:
                    updated[name] = (f"{name}-1", r.body["metadata"]["resourceVersion"])
                if n % 3 == 0:
                    updated.pop(name, None)  # a delete in flight when killed may or may not be done
                    if s.delete(f"{HOSTS}/{name}").status == 200:
                        deleted.append(name)
            except Exception:
                return
            n += 1

    try:
        threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b")] + [threading.Thread(target=changer)]
        [t.start() for t in threads]
        time.sleep(1.5)
        s.kill()
        stop.set()
        [t.join() for t in threads]
        assert len(acked) > 20, f"too few writes before the kill: {len(acked)}"
        assert len(updated) > 3 and len(deleted) > 1, (len(updated), len(deleted))
        s.start()
        items = {i["metadata"]["name"]: i for i in s.get("/api/v1/bootconfigs").body["items"]}
        missing = [n for n, _ in acked if n not in items]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
        for name, rv in acked:
            assert items[name]["spec"]["data"]["f"] == name
            assert items[name]["metadata"]["resourceVersion"] == rv
        hosts = {h["metadata"]["name"]: h for h in s.get(HOSTS + "?includeSecrets=true").body["items"]}
        for name, (password, rv) in updated.items():
            assert name in hosts, f"acknowledged host {name} lost"
            # A later unacknowledged write may have moved it on; never back.
            assert int(hosts[name]["metadata"]["resourceVersion"]) >= int(rv)
            assert hosts[name]["spec"]["bmc"]["password"] == password
        assert not [n for n in deleted if n in hosts], "an acknowledged delete came back"
    finally:
        s.close()


def test_a_second_server_on_the_same_store_is_refused():
    """Two servers on one store would each keep their own index and revision counter and write
    over each other's changes: the second is refused, naming the first; after a SIGKILL the
    store is free again."""
    import subprocess
    from bootgate_process import BINARY, free_port
    s = Server(examples=False)
    try:
        started = time.time()
        second = subprocess.run([BINARY, "serve", "--listen", f"127.0.0.1:{free_port()}", "--data", s.data, "--examples", "none"],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert f"in use by another bootgate (pid {s.proc.pid})" in second.stdout + second.stderr, second.stdout + second.stderr
        assert time.time() - started < 30
        assert s.get("/healthz", raw=True).status == 200
        s.kill()
        s.start()
        assert s.get("/healthz", raw=True).status == 200
    finally:
        s.close()
