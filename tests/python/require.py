"""PyPI modules for the test scripts, installed on first use.

A fresh machine has Python but not the PyPI packages some test scripts
need (aiosmtpd for the SMTP sink, pyotp for the second-factor tests).
`require("pyotp")` imports the module, and when it is missing installs
it with pip (`--user` outside a virtualenv) under a file lock, so that
several test processes starting at once install it once, then imports it.
A failed install raises ImportError naming the package and pip's output.
"""

import fcntl
import importlib
import os
import site
import subprocess
import sys
import tempfile


def require(module, pip_name=None):
    """Import `module`, installing `pip_name` (default: `module`) if absent."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    lock_path = os.path.join(tempfile.gettempdir(), "session-auth-pip.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        importlib.invalidate_caches()
        try:
            return importlib.import_module(module)
        except ImportError:
            pass
        command = [sys.executable, "-m", "pip", "install", "--quiet",
                   "--disable-pip-version-check"]
        if sys.prefix == sys.base_prefix and not os.access(
                site.getsitepackages()[0], os.W_OK):
            command.append("--user")
        command.append(pip_name or module)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise ImportError("pip could not install %s: %s"
                              % (pip_name or module, done.stderr.strip()))
        importlib.invalidate_caches()
        user_site = site.getusersitepackages()
        if os.path.isdir(user_site) and user_site not in sys.path:
            sys.path.append(user_site)
        return importlib.import_module(module)
