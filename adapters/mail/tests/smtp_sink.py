"""A real SMTP server for the mail adapter's tests (aiosmtpd).

usage: smtp_sink.py PORT FOLDER MODE
MODE `accept` saves each message as FOLDER/<n>.eml, exactly as received;
MODE `refuse` answers every recipient 550. Either way every RCPT TO is
appended to FOLDER/rcpt.log. Prints `ready` once listening.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "tests", "python"))
from require import require  # noqa: E402

Controller = require("aiosmtpd.controller", "aiosmtpd").Controller


class Sink:
    def __init__(self, folder, refuse):
        self.folder = folder
        self.refuse = refuse
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with open(os.path.join(self.folder, "rcpt.log"), "a") as log:
            log.write(address + "\n")
        if self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.folder, "%d.eml" % self.count)
        with open(path + ".part", "wb") as out:
            out.write(envelope.original_content)
        os.rename(path + ".part", path)
        return "250 Message accepted for delivery"


def main():
    port, folder, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    controller = Controller(Sink(folder, mode == "refuse"), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
