"""Nothing acknowledged is lost: SIGKILL the server in the middle of a stream of writes,
restart it, and find every acknowledged write."""
import threading
import time

from conftest import Server


def test_acknowledged_writes_survive_sigkill():
    s = Server(examples=False)
    acked = []
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

    try:
        threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b", "c")]
        [t.start() for t in threads]
        time.sleep(1.5)
        s.kill()
        stop.set()
        [t.join() for t in threads]
        assert len(acked) > 20, f"too few writes before the kill: {len(acked)}"
        s.start()
        items = {i["metadata"]["name"]: i for i in s.get("/api/v1/bootconfigs").body["items"]}
        missing = [n for n, _ in acked if n not in items]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
        for name, rv in acked:
            assert items[name]["spec"]["data"]["f"] == name
            assert items[name]["metadata"]["resourceVersion"] == rv
    finally:
        s.close()
