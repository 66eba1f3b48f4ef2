#!/usr/bin/env python3
"""Integration test of the demo target's WebSocket chat (GET /ws/chat): the
handshake and its refusals, the join/say protocol, error answers, the counts,
dropped members, and the 64 KiB message bound. The client is not hornet but
Debian's python3-websockets, driven through tests/demo/ws_driver.py under
/usr/bin/python3 (the only interpreter that has it). Needs HORNET; talks to
127.0.0.1 only."""

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import hnlib  # noqa: E402

DRIVER = os.path.join(HERE, "ws_driver.py")
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
T = None  # the shared target, started in setUpModule


def setUpModule():
    global T
    T = hnlib.DemoTarget().start()


def tearDownModule():
    rc = T.stop()
    if rc != 0:
        raise AssertionError("demo-target exited with %s (leaks under ASan?)" % rc)


def ws(actions, timeout=60):
    """Runs the actions through ws_driver.py; returns its results."""
    p = subprocess.run(["/usr/bin/python3", DRIVER, str(T.port)], input=json.dumps(actions),
                       capture_output=True, text=True, timeout=timeout)
    if "No module named 'websockets'" in p.stderr:
        raise unittest.SkipTest("python3-websockets is missing: packaging/deps.sh test installs it")
    if p.returncode != 0:
        raise AssertionError("ws_driver failed (%d): %s" % (p.returncode, p.stderr[-3000:]))
    return json.loads(p.stdout)


def join(cid, room, user):
    return {"op": "send_json", "id": cid, "doc": {"type": "join", "room": room, "user": user}}


def say(cid, text):
    return {"op": "send_json", "id": cid, "doc": {"type": "say", "text": text}}


def recv(cid):
    return {"op": "recv", "id": cid}


def raw_handshake(headers, path="/ws/chat", method="GET"):
    """Sends a hand-written request; returns (status, headers dict, body)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % T.port]
    lines += ["%s: %s" % kv for kv in headers.items()]
    s = socket.create_connection(("127.0.0.1", T.port), timeout=10)
    try:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        status_line, *hdr_lines = head.decode().split("\r\n")
        hdrs = {}
        for h in hdr_lines:
            k, _, v = h.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        while len(body) < n:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        return int(status_line.split()[1]), hdrs, body
    finally:
        s.close()


UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


class Handshake(unittest.TestCase):
    def test_accept_value(self):
        # RFC 6455's own example key and answer.
        status, hdrs, _ = raw_handshake(UPGRADE)
        self.assertEqual(status, 101)
        self.assertEqual(hdrs["upgrade"].lower(), "websocket")
        self.assertEqual(hdrs["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        key = base64.b64encode(os.urandom(16)).decode()
        status, hdrs, _ = raw_handshake(dict(UPGRADE, **{"Sec-WebSocket-Key": key}))
        self.assertEqual(status, 101)
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.assertEqual(hdrs["sec-websocket-accept"], want)

    def test_refusals(self):
        status, hdrs, body = T.request("GET", "/ws/chat")
        self.assertEqual(status, 400)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))
        self.assertIn("error", json.loads(body))
        for change in ({"Upgrade": "h2c"}, {"Sec-WebSocket-Version": "8"},
                       {"Sec-WebSocket-Key": "short"}, {"Connection": "keep-alive"}):
            status, _, body = raw_handshake(dict(UPGRADE, **change))
            self.assertEqual(status, 400, change)
            self.assertIn("error", json.loads(body))
        missing = dict(UPGRADE)
        del missing["Sec-WebSocket-Key"]
        self.assertEqual(raw_handshake(missing)[0], 400)
        self.assertEqual(raw_handshake(UPGRADE, method="POST")[0], 405)
        # The plain HTTP routes are unaffected.
        self.assertEqual(T.request("GET", "/json")[0], 200)


class Chat(unittest.TestCase):
    def test_join_and_say(self):
        r = ws([{"op": "open", "id": "a"}, {"op": "open", "id": "b"},
                join("a", "lobby-1", "ann"), recv("a"),
                join("b", "lobby-1", "bob"), recv("b"),
                say("a", "hello \u00fc \"quoted\""), recv("a"), recv("b"),
                say("b", "hi"), recv("b"), recv("a"),
                {"op": "ping", "id": "a"},
                {"op": "close", "id": "a"}, {"op": "close", "id": "b"}])
        self.assertEqual(r[0], {"ok": True})
        self.assertEqual(r[1], {"ok": True})
        self.assertEqual(r[3]["msg"], {"type": "joined", "room": "lobby-1", "members": 1})
        self.assertEqual(r[5]["msg"], {"type": "joined", "room": "lobby-1", "members": 2})
        want = {"type": "message", "room": "lobby-1", "user": "ann",
                "text": "hello \u00fc \"quoted\""}
        self.assertEqual(r[7]["msg"], want)  # the sender gets its own message
        self.assertEqual(r[8]["msg"], want)
        want = {"type": "message", "room": "lobby-1", "user": "bob", "text": "hi"}
        self.assertEqual(r[10]["msg"], want)
        self.assertEqual(r[11]["msg"], want)
        self.assertEqual(r[12], {"pong": True})

    def test_rooms_are_separate_and_join_moves(self):
        r = ws([{"op": "open", "id": "a"}, {"op": "open", "id": "b"},
                join("a", "sep-x", "ann"), recv("a"),
                join("b", "sep-y", "bob"), recv("b"),
                say("a", "only x"), recv("a"),
                say("b", "only y"), recv("b"),
                join("a", "sep-y", "ann2"), recv("a"),  # moves a: sep-x is empty now
                say("b", "both"), recv("b"), recv("a"),
                join("b", "sep-x", "bob"), recv("b")])
        self.assertEqual(r[7]["msg"]["text"], "only x")
        self.assertEqual(r[9]["msg"]["text"], "only y")
        self.assertEqual(r[11]["msg"], {"type": "joined", "room": "sep-y", "members": 2})
        self.assertEqual(r[13]["msg"]["text"], "both")
        self.assertEqual(r[14]["msg"]["text"], "both")  # a saw no "only y": it was in x
        self.assertEqual(r[16]["msg"]["members"], 1)

    def test_errors_keep_the_connection(self):
        r = ws([{"op": "open", "id": "a"},
                say("a", "too early"), recv("a"),
                {"op": "send", "id": "a", "text": "not json"}, recv("a"),
                {"op": "send", "id": "a", "text": "[1,2]"}, recv("a"),
                {"op": "send_json", "id": "a", "doc": {"type": "dance"}}, recv("a"),
                {"op": "send_json", "id": "a", "doc": {"room": "r"}}, recv("a"),
                {"op": "send_json", "id": "a", "doc": {"type": "join", "room": "", "user": "u"}},
                recv("a"),
                {"op": "send_json", "id": "a", "doc": {"type": "join", "room": "r", "user": 5}},
                recv("a"),
                {"op": "send_bytes", "id": "a", "hex": "00ff"}, recv("a"),
                join("a", "err-room", "ann"), recv("a"),
                {"op": "send_json", "id": "a", "doc": {"type": "say"}}, recv("a"),
                say("a", "still here"), recv("a")])
        self.assertEqual(r[2]["msg"], {"type": "error", "error": "join a room first"})
        for i in (4, 6, 8, 10, 12, 14, 16, 20):
            self.assertEqual(r[i]["msg"]["type"], "error", (i, r[i]))
            self.assertIsInstance(r[i]["msg"]["error"], str)
        self.assertEqual(r[18]["msg"]["members"], 1)
        self.assertEqual(r[22]["msg"]["text"], "still here")

    def test_abrupt_close_drops_the_member(self):
        r = ws([{"op": "open", "id": "a"}, {"op": "open", "id": "b"}, {"op": "open", "id": "c"},
                join("a", "abrupt", "ann"), recv("a"),
                join("b", "abrupt", "bob"), recv("b"),
                {"op": "abort", "id": "b"},
                {"op": "join_until", "id": "c", "room": "abrupt", "user": "cy", "members": 2},
                say("c", "who is here"), recv("c"), recv("a")])
        self.assertEqual(r[6]["msg"]["members"], 2)
        self.assertEqual(r[8]["msg"], {"type": "joined", "room": "abrupt", "members": 2})
        self.assertEqual(r[11]["msg"]["text"], "who is here")
        self.assertEqual(r[11]["msg"]["user"], "cy")

    def test_clean_close_drops_the_member(self):
        r = ws([{"op": "open", "id": "a"}, {"op": "open", "id": "b"},
                join("a", "clean", "ann"), recv("a"),
                {"op": "close", "id": "a"},
                {"op": "join_until", "id": "b", "room": "clean", "user": "bob", "members": 1}])
        self.assertEqual(r[3]["msg"]["members"], 1)
        self.assertEqual(r[5]["msg"], {"type": "joined", "room": "clean", "members": 1})

    def test_oversized_message_closes_with_1009(self):
        r = ws([{"op": "open", "id": "a"}, {"op": "open", "id": "big"},
                join("a", "big-room", "ann"), recv("a"),
                join("big", "big-room", "huge"), recv("big"),
                {"op": "send_big", "id": "big", "n": 100 * 1024},
                {"op": "wait_closed", "id": "big"},
                {"op": "join_until", "id": "a", "room": "big-room", "user": "ann", "members": 1},
                say("a", "x" * 60000), recv("a")])
        self.assertEqual(r[7], {"closed": 1009})
        self.assertEqual(r[8]["msg"]["members"], 1)
        self.assertEqual(len(r[10]["msg"]["text"]), 60000)  # just under the bound still works
        self.assertEqual(T.request("GET", "/json")[0], 200)

    def test_slow_reader_is_dropped(self):
        # "slow" never reads: once its queued output passes 1 MiB (after the
        # socket buffers fill) the target drops it instead of growing.
        r = ws([{"op": "open", "id": "fast"}, {"op": "open", "id": "slow", "max_queue": 1},
                join("fast", "slow-room", "fast"), recv("fast"),
                join("slow", "slow-room", "slow"), recv("slow"),
                {"op": "flood", "id": "fast", "n": 60000, "count": 400, "timeout": 30},
                {"op": "join_until", "id": "fast", "room": "slow-room", "user": "fast",
                 "members": 1, "timeout": 30},
                {"op": "wait_closed", "id": "slow", "timeout": 30}], timeout=120)
        self.assertEqual(r[5]["msg"]["members"], 2)
        self.assertEqual(r[6], {"ok": True})
        self.assertEqual(r[7]["msg"], {"type": "joined", "room": "slow-room", "members": 1})
        self.assertNotIn("timeout", r[8])


class Counts(unittest.TestCase):
    def test_counts(self):
        before = T.counts()
        for k in ("ws_connections", "ws_messages_in", "ws_messages_out", "ws_open"):
            self.assertIsInstance(before[k], int, k)
        r = ws([{"op": "open", "id": "a"}, {"op": "open", "id": "b"},
                join("a", "cnt", "ann"), recv("a"),   # in 1, out 1
                join("b", "cnt", "bob"), recv("b"),   # in 1, out 1
                say("a", "one"), recv("a"), recv("b"),  # in 1, out 2
                {"op": "send", "id": "b", "text": "{"}, recv("b"),  # in 1, out 1
                {"op": "send_bytes", "id": "b", "hex": "01"}, recv("b"),  # in 0, out 1
                {"op": "ping", "id": "a"}])
        self.assertEqual(r[13], {"pong": True})
        after = T.counts()
        # Other tests run one at a time, so the differences are ours alone.
        self.assertEqual(after["ws_connections"] - before["ws_connections"], 2)
        self.assertEqual(after["ws_messages_in"] - before["ws_messages_in"], 4)
        self.assertEqual(after["ws_messages_out"] - before["ws_messages_out"], 6)
        self.assertEqual(after["by_route"].get("GET /ws/chat", 0)
                         - before["by_route"].get("GET /ws/chat", 0), 2)
        # Every connection of this module is gone (the driver exited), so
        # the live count (what the 10,000 bound is checked against) drains
        # to 0: no slot leaks, none is released twice.
        hnlib.wait_until(lambda: T.counts()["ws_open"] == 0, 10, "ws_open back to 0",
                         interval=0.02)
        T.reset()
        doc = T.counts()
        self.assertEqual((doc["ws_connections"], doc["ws_messages_in"], doc["ws_messages_out"]),
                         (0, 0, 0))


class Stop(unittest.TestCase):
    def test_stop_with_open_connections(self):
        # A second target, stopped while clients are connected: it closes
        # them and exits 0 (no leaks under ASan).
        t = hnlib.DemoTarget().start()
        code = r"""
import asyncio, json, sys, websockets
async def main():
    url = "ws://127.0.0.1:%s/ws/chat" % sys.argv[1]
    conns = [await websockets.connect(url) for _ in range(5)]
    for i, c in enumerate(conns):
        await c.send(json.dumps({"type": "join", "room": "stop", "user": "u%d" % i}))
        await c.recv()
    print("ready", flush=True)
    codes = []
    for c in conns:
        try:
            await asyncio.wait_for(c.recv(), 20)
        except websockets.ConnectionClosed as e:
            codes.append(e.rcvd.code if e.rcvd else None)
    print(json.dumps(codes), flush=True)
asyncio.run(main())
"""
        p = subprocess.Popen(["/usr/bin/python3", "-c", code, str(t.port)],
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), "ready")
            self.assertEqual(t.counts()["ws_connections"], 5)
            self.assertEqual(t.stop(), 0)
            codes = json.loads(p.stdout.readline())
            self.assertEqual(len(codes), 5)
            self.assertTrue(all(c in (1001, None) for c in codes), codes)
        finally:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
            p.stdout.close()
            t.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
