"""A TCP proxy between one server instance and PostgreSQL that the fault
probes control: pass, freeze (every connection, or only the ones that
sent LISTEN), reset (RST every connection, refuse new ones), or delay
every chunk. Standard library only; threads, every wait bounded.
"""

import socket
import struct
import threading
import time

HOST = "127.0.0.1"


class Proxy:
    """Listens on a free loopback port and forwards to `upstream`."""

    def __init__(self, upstream_port, upstream_host=HOST):
        self.upstream = (upstream_host, upstream_port)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((HOST, 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.lock = threading.Condition()
        self.mode = "pass"  # pass | freeze | freeze-listener | reset | delay
        self.delay = 0.0
        self.links = []  # [client socket, upstream socket, {"listener": bool}]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- control
    def set(self, mode, delay=0.0):
        with self.lock:
            self.mode = mode
            self.delay = delay
            if mode == "reset":
                for client, upstream, _ in self.links:
                    _reset(client)
                    _reset(upstream)
                self.links = []
            self.lock.notify_all()

    def heal(self):
        self.set("pass")

    def close(self):
        with self.lock:
            self.closed = True
        self.set("reset")
        try:
            self.server.close()
        except OSError:
            pass

    # -- forwarding
    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                refused = self.closed or self.mode in ("reset", "freeze")
            if refused:
                # A frozen link: the connection attempt goes nowhere (the
                # client's connect timeout ends it); a reset one: RST.
                if self.mode == "reset" or self.closed:
                    _reset(client)
                else:
                    threading.Thread(target=_hold_then_drop, args=(client, self), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            link = [client, upstream, {"listener": False}]
            with self.lock:
                self.links.append(link)
            threading.Thread(target=self._pump, args=(client, upstream, link[2], True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, link[2], False), daemon=True).start()

    def _frozen(self, tags):
        return self.mode == "freeze" or (self.mode == "freeze-listener" and tags["listener"])

    def _pump(self, src, dst, tags, from_client):
        while True:
            try:
                chunk = src.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                _close(dst)
                return
            if from_client and b"LISTEN" in chunk:
                tags["listener"] = True
            with self.lock:
                while self._frozen(tags) and not self.closed:
                    self.lock.wait(0.5)
                delay = self.delay if self.mode == "delay" else 0.0
            if delay:
                time.sleep(delay)
            try:
                dst.sendall(chunk)
            except OSError:
                _close(src)
                return


def _hold_then_drop(client, proxy):
    """A connection made while the link is frozen: held until it heals,
    then dropped (the client tries again)."""
    deadline = time.monotonic() + 60
    with proxy.lock:
        while proxy.mode == "freeze" and time.monotonic() < deadline:
            proxy.lock.wait(0.5)
    _close(client)


def _reset(sock):
    """Closes with RST (linger 0); wakes a thread blocked reading it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _close(sock):
    """Closes with FIN; wakes a thread blocked reading it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
