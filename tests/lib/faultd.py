#!/usr/bin/env python3
"""faultd.py: a broken server on 127.0.0.1 for the "IdP or relay unavailable"
tests (issue 8). Modes:

  500   answers every request with HTTP 500 (a JSON error body)
  hang  accepts connections, reads, and never answers (held open)
  tls   TLS with a throwaway self-signed certificate (CERT:KEY given with
        --cert): a client that verifies the peer fails the handshake

usage: faultd.py MODE PORTFILE [--cert CERT.pem:KEY.pem]
Listens on a free port, writes it to PORTFILE (atomically), runs until
SIGTERM. Test use only.
"""
import os
import signal
import socket
import ssl
import sys
import threading


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("500", "hang", "tls"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, portfile = sys.argv[1], sys.argv[2]
    ctx = None
    if mode == "tls":
        if len(sys.argv) != 5 or sys.argv[3] != "--cert":
            print("tls needs --cert CERT:KEY", file=sys.stderr)
            return 2
        cert, key = sys.argv[4].split(":", 1)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    held = []

    def serve(c):
        try:
            if ctx:
                c = ctx.wrap_socket(c, server_side=True)
            c.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = c.recv(4096)
                if not chunk:
                    return
                data += chunk
            if mode == "hang":
                held.append(c)  # never answered, never closed
                return
            body = b'{"error":"server_error"}'
            c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        except (OSError, ssl.SSLError):
            pass
        if mode != "hang":
            try:
                c.close()
            except OSError:
                pass

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
