#!/usr/bin/python3
"""A WebSocket server that hornet's tests did not write the protocol of:
Debian's python3-websockets (run by /usr/bin/python3, which has it), with
one behaviour per path:

  /echo           every message back as it came
  /ping           before each reply, a ping; the reply says whether the
                  pong came ("pong" or "no pong")
  /close-abrupt   the first message ends the TCP connection, no close frame
  /close-1011     the first message gets a close frame with code 1011
  /close-1000     the first message gets a normal close (1000)
  /silent         never answers
  /big            each message is answered by one of 16 MiB
  /reject         the handshake is refused with 403
  /ping-flood     the first message starts a stream of pings, never a reply
  /chat           the demo target's chat protocol (demo/README.md): join a
                  room, say something, everyone in the room gets it

Usage: ws_peer.py PORT_FILE [CERT KEY]: listens on 127.0.0.1 (a free port,
written to PORT_FILE when ready; wss:// with CERT and KEY). GET /stats
(plain HTTP on the same port) answers the counts as JSON: messages
received per path, connections per path, and close codes the clients sent.
"""
import asyncio
import collections
import http
import json
import ssl
import sys

import websockets

received = collections.Counter()
connections = collections.Counter()
client_close_codes = collections.Counter()
BIG = b"x" * (16 << 20)
rooms = collections.defaultdict(set)


async def chat(ws, path):
    """join -> joined (members); say -> message to the whole room."""
    room = user = None
    try:
        async for raw in ws:
            received[path] += 1
            try:
                msg = json.loads(raw)
            except ValueError:
                await ws.send(json.dumps({"type": "error", "error": "not JSON"}))
                continue
            if msg.get("type") == "join":
                if room is not None:
                    rooms[room].discard(ws)
                room, user = str(msg.get("room")), str(msg.get("user"))
                rooms[room].add(ws)
                await ws.send(json.dumps({"type": "joined", "room": room,
                                          "members": len(rooms[room])}))
            elif msg.get("type") == "say" and room is not None:
                out = json.dumps({"type": "message", "room": room, "user": user,
                                  "text": msg.get("text")})
                for member in list(rooms[room]):
                    try:
                        await member.send(out)
                    except websockets.ConnectionClosed:
                        pass
            else:
                await ws.send(json.dumps({"type": "error", "error": "join a room first"}))
    except websockets.ConnectionClosed:
        pass
    finally:
        if room is not None:
            rooms[room].discard(ws)


async def process_request(path, headers):
    path = path.split("?")[0]
    if path == "/stats":
        body = json.dumps({"received": received, "connections": connections,
                           "client_close_codes": {str(k): v for k, v in client_close_codes.items()}})
        return http.HTTPStatus.OK, [("Content-Type", "application/json")], body.encode()
    if path == "/reject":
        return http.HTTPStatus.FORBIDDEN, [], b"no\n"
    return None


async def handler(ws, path):
    path = path.split("?")[0]
    connections[path] += 1
    if path == "/chat":
        await chat(ws, path)
        if ws.close_rcvd is not None:
            client_close_codes[ws.close_rcvd.code] += 1
        return
    try:
        async for msg in ws:
            received[path] += 1
            if path == "/echo":
                await ws.send(msg)
            elif path == "/ping":
                try:
                    await asyncio.wait_for(await ws.ping(), 5)
                    await ws.send("pong")
                except asyncio.TimeoutError:
                    await ws.send("no pong")
            elif path == "/close-abrupt":
                ws.transport.abort()
                return
            elif path == "/close-1011":
                await ws.close(1011, "internal error")
                return
            elif path == "/close-1000":
                await ws.close(1000, "bye")
                return
            elif path == "/big":
                await ws.send(BIG)
            elif path == "/ping-flood":
                for i in range(200000):
                    ws.ping(str(i))      # no waiting for the pongs
                    if i % 100 == 0:
                        await asyncio.sleep(0)
            # /silent: nothing
    except websockets.ConnectionClosed:
        pass
    finally:
        if ws.close_rcvd is not None:
            client_close_codes[ws.close_rcvd.code] += 1


async def main():
    port_file = sys.argv[1]
    ctx = None
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    async with websockets.serve(handler, "127.0.0.1", 0, process_request=process_request,
                                max_size=None, ping_interval=None, ssl=ctx) as server:
        port = server.sockets[0].getsockname()[1]
        with open(port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(port_file + ".tmp", port_file)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
