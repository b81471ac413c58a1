"""A holdfast client written from docs/protocol.md alone (not from the Rust code).

Usage: client.py SOCKET_PATH. Proposes a catastrophic command, finds its hold, approves it
(no vault: the challenge is unlocked), checks the pending state, pages through list_pending
(shortened commands carry their length and SHA-256), reports an approval made in the agent's own
prompt (state agent_approved), and exercises the error codes.
Prints "ok" and exits 0 when every check holds; any failed check raises.
"""
import hashlib
import json
import socket
import sys


def exchange(path, frame: bytes) -> bytes:
    """One connection, one frame out, one frame back (up to the newline)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(frame)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf


def request(path, kind, **fields):
    msg = {"v": 1, "kind": kind, **fields}
    reply = exchange(path, json.dumps(msg).encode() + b"\n")
    assert reply.endswith(b"\n"), reply
    return json.loads(reply)


def main(path):
    pong = request(path, "ping", id="p1")
    assert pong["kind"] == "pong" and pong["id"] == "p1" and pong["v"] == 1, pong

    v = request(path, "propose", agent="py", cwd="/tmp", raw="ls -la")
    assert v["kind"] == "verdict" and v["decision"] == "allow" and v["class"] == "safe", v
    assert isinstance(v["seq"], int) and v["seq"] > 0, v

    held = request(path, "propose", agent="py", cwd="/tmp", raw="rm -rf /")
    assert held["decision"] == "hold" and held["class"] == "catastrophic", held
    pid = held["pending"]
    assert held["rule"] and held["reason"], held

    listed = request(path, "list_pending")
    assert listed["kind"] == "pending_list", listed
    assert any(i["pending"] == pid and i["state"] == "pending" for i in listed["items"]), listed

    ch = request(path, "auth_begin", op="approve:" + pid)
    assert ch["kind"] == "challenge" and ch["locked"] is False, ch
    approved = request(path, "approve", pending=pid)
    assert approved["kind"] == "pending" and approved["state"] == "approved", approved
    st = request(path, "pending_status", pending=pid)
    assert st["kind"] == "pending" and st["state"] == "approved", st
    again = request(path, "approve", pending=pid)
    assert again["kind"] == "error" and again["code"] == "conflict", again

    head = request(path, "log_head")
    assert head["kind"] == "log_head" and len(head["hash"]) == 64 and head["seq"] > held["seq"], head

    # Paging: three more holds (other agents, so no one-time grant applies), one of them longer
    # than the 4,096 bytes a list shows; pages of 2, following `next` while `more`.
    long_cmd = "rm -rf /" + " /x" * 2000
    for agent, raw in (("py-a", "rm -rf /"), ("py-b", "rm -rf /"), ("py-c", long_cmd)):
        r = request(path, "propose", agent=agent, cwd="/tmp", raw=raw)
        assert r["decision"] == "hold", r
    seen, after, pages = [], None, 0
    while True:
        fields = {"limit": 2} if after is None else {"limit": 2, "after": after}
        page = request(path, "list_pending", **fields)
        assert page["kind"] == "pending_list" and 1 <= len(page["items"]) <= 2, page
        seen += page["items"]
        pages += 1
        if not page.get("more"):
            break
        after = page["next"]
    assert pages == 2 and len(seen) == 3, (pages, seen)
    assert len({i["pending"] for i in seen}) == 3, seen
    long_item = next(i for i in seen if i["agent"] == "py-c")
    assert long_item["command_len"] == len(long_cmd) and len(long_item["command"]) <= 4096, long_item
    assert long_item["command_sha256"] == hashlib.sha256(long_cmd.encode()).hexdigest(), long_item
    full = request(path, "pending_status", pending=long_item["pending"])
    assert full["command"] == long_cmd, "pending_status returns the whole command"

    # An agent's report that its user allowed a held command in the agent's prompt: no proof,
    # the hold closes as agent_approved (not an approval a waiting hook would act on).
    reported = next(i for i in seen if i["agent"] == "py-a")
    ack = request(path, "resolve", command="rm -rf /", decision="allow", pending=reported["pending"], agent="py-a")
    assert ack["kind"] == "ack" and ack["seq"] > 0, ack
    st = request(path, "pending_status", pending=reported["pending"])
    assert st["state"] == "agent_approved", st

    # Error codes, as the document lists them.
    assert request(path, "no_such_kind")["code"] == "unknown_kind"
    assert json.loads(exchange(path, b'{"v":2,"kind":"ping"}\n'))["code"] == "unsupported_version"
    assert json.loads(exchange(path, b"{not json\n"))["code"] == "bad_frame"
    assert json.loads(exchange(path, b'{"kind":"ping","x":"\xff"}\n'))["code"] == "bad_utf8"
    bad = request(path, "propose", agent="py", cwd="relative", raw="ls")
    assert bad["code"] == "invalid_field" and bad["message"], bad
    unknown = "aaaaaa" if pid != "aaaaaa" else "bbbbbb"
    assert request(path, "pending_status", pending=unknown)["state"] == "gone"
    assert request(path, "approve", pending=unknown)["code"] == "not_found"

    # Text mode.
    assert exchange(path, b"PING\n") == b"PONG\n"
    assert exchange(path, b"STATUS\n").startswith(b"holdfast ")
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
