#!/usr/bin/python3
"""A scripted WebSocket client for tests/demo/test_demo_websocket.py, built on
Debian's python3-websockets (not on hornet). Run by /usr/bin/python3, which is
the interpreter that has the module.

Usage: ws_driver.py PORT < actions.json
Reads a JSON list of actions, runs them in order on 127.0.0.1:PORT/ws/chat and
prints a JSON list with one result per action. Every wait is bounded by
"timeout" (default 10 s) and ends as soon as its condition holds.

Actions ("id" names a connection):
  {"op": "open", "id": I[, "max_queue": Q]}   -> {"ok": true} or {"error": "..."}
  {"op": "send", "id": I, "text": T}           text frame
  {"op": "send_json", "id": I, "doc": D}       text frame with json.dumps(D)
  {"op": "send_bytes", "id": I, "hex": H}      binary frame
  {"op": "send_big", "id": I, "n": N}          text frame of N bytes
  {"op": "recv", "id": I}                      -> {"msg": parsed} | {"closed": code} | {"timeout": true}
  {"op": "flood", "id": I, "n": N, "count": C}
       says C texts of N bytes, each time waiting for its own echo
  {"op": "join_until", "id": I, "room": R, "user": U, "members": N}
       joins again until the answer says N members -> {"msg": last answer}
  {"op": "wait_closed", "id": I}               -> {"closed": code or null} (messages skipped)
  {"op": "ping", "id": I}                      -> {"pong": true}
  {"op": "close", "id": I}                     clean close handshake
  {"op": "abort", "id": I}                     drops the TCP connection, no close frame
"""

import asyncio
import json
import sys

import websockets


def closed_code(exc):
    return exc.rcvd.code if exc.rcvd is not None else None


async def recv_one(ws, timeout):
    try:
        data = await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        return {"timeout": True}
    except websockets.ConnectionClosed as e:
        return {"closed": closed_code(e)}
    if isinstance(data, bytes):
        return {"binary": data.hex()}
    try:
        return {"msg": json.loads(data)}
    except ValueError:
        return {"text": data}


async def run(port, actions):
    url = "ws://127.0.0.1:%d/ws/chat" % port
    conns = {}
    out = []
    loop = asyncio.get_running_loop()
    for a in actions:
        op, cid, timeout = a["op"], a.get("id"), a.get("timeout", 10)
        ws = conns.get(cid)
        res = {"ok": True}
        if op == "open":
            try:
                conns[cid] = await asyncio.wait_for(
                    websockets.connect(url, max_size=None, ping_interval=None,
                                       max_queue=a.get("max_queue", 32)), timeout)
            except Exception as e:  # noqa: BLE001 - reported to the test
                res = {"error": "%s: %s" % (type(e).__name__, e)}
        elif op == "send":
            await ws.send(a["text"])
        elif op == "send_json":
            await ws.send(json.dumps(a["doc"]))
        elif op == "send_bytes":
            await ws.send(bytes.fromhex(a["hex"]))
        elif op == "send_big":
            await ws.send("x" * a["n"])
        elif op == "recv":
            res = await recv_one(ws, timeout)
        elif op == "join_until":
            deadline = loop.time() + timeout
            while True:
                await ws.send(json.dumps({"type": "join", "room": a["room"], "user": a["user"]}))
                res = await recv_one(ws, max(0.1, deadline - loop.time()))
                if ("msg" not in res or res["msg"].get("members") == a["members"]
                        or loop.time() >= deadline):
                    break
                await asyncio.sleep(0.05)  # poll interval of the condition
        elif op == "flood":
            # "say" count texts of n bytes, each time waiting for the echo.
            for _ in range(a["count"]):
                await ws.send(json.dumps({"type": "say", "text": "f" * a["n"]}))
                r = await recv_one(ws, timeout)
                if "msg" not in r:
                    res = r
                    break
        elif op == "wait_closed":
            res = {"closed": None, "timeout": True}
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                r = await recv_one(ws, deadline - loop.time())
                if "closed" in r:
                    res = r
                    break
        elif op == "ping":
            waiter = await ws.ping()
            await asyncio.wait_for(waiter, timeout)
            res = {"pong": True}
        elif op == "close":
            await asyncio.wait_for(ws.close(), timeout)
        elif op == "abort":
            ws.transport.abort()
        else:
            res = {"error": "unknown op %r" % op}
        out.append(res)
    for ws in conns.values():
        if not ws.closed:
            ws.transport.abort()
    return out


def main():
    actions = json.load(sys.stdin)
    print(json.dumps(asyncio.run(run(int(sys.argv[1]), actions))))


if __name__ == "__main__":
    main()
