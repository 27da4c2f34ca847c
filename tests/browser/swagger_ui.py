#!/usr/bin/env python3
"""Drives a real headless Chromium through Swagger UI at /api/v1/docs.

As a user would, under a session policy: the page offers nothing in
Authorize (a pasted cookie would show "Authorized" and then get 401) and
says to run Log in; log in with "Try it out" on the login operation (the
answer sets the session cookie in the browser), call GET /users/me (an
operation of its own) and see the user, list the users, log out, and see
/users/me refused afterwards. Then under basic_auth: Authorize offers
only Basic, and with it GET /users/me answers 200: every scheme the page
offers works.

Usage: swagger_ui.py PATH/TO/session-auth

Needs Debian's chromium and chromium-driver and the selenium package
(.ci/run installs them). Only 127.0.0.1 is contacted: the server's Swagger
UI has its assets inlined, and Chromium's background traffic is switched
off. Exits non-zero on any failure; never skips.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

EMAIL = "swagger@example.com"
PASSWORD = "a long browser secret"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, data_dir, auth_type="session_db_auth"):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STORAGE": "file",
        "DATA_DIR": data_dir,
        "AUTH_TYPE": auth_type,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "LOG_LEVEL": "warn",
    }
    existing = subprocess.run([binary, "user", "show", EMAIL], env=env,
                              capture_output=True, text=True, timeout=60)
    created = existing if existing.returncode == 0 else subprocess.run(
        [binary, "user", "create", "--email", EMAIL, "--first-name", "Swagger",
         "--password-stdin"],
        input=PASSWORD, env=env, capture_output=True, text=True, timeout=60)
    if created.returncode != 0:
        sys.exit(f"user create failed: {created.stderr.strip()}")
    log = open(os.path.join(data_dir, "server.log"), "wb")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/status", timeout=1) as r:
                if r.status == 200:
                    return server, base
        except OSError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    sys.exit(f"the server did not answer on {base}")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--metrics-recording-only",
        "--no-proxy-server", "--window-size=1400,2000",
    ]:
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def operation(driver, method, path):
    """The expanded operation block of `method path`, "Try it out" pressed."""
    xpath = (f"//div[contains(@class,'opblock-{method}')]"
             f"[.//*[contains(@class,'opblock-summary-path') and @data-path='{path}']]")
    block = WebDriverWait(driver, WAIT).until(
        EC.presence_of_element_located((By.XPATH, xpath)))
    if "is-open" not in (block.get_attribute("class") or ""):
        summary = block.find_element(By.CSS_SELECTOR, ".opblock-summary")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
        summary.click()
    try_out = WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.XPATH, xpath).find_element(
            By.CSS_SELECTOR, "button.try-out__btn"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", try_out)
    if "cancel" not in (try_out.get_attribute("class") or ""):
        try_out.click()
    return driver.find_element(By.XPATH, xpath)


def fill(block, selector, value):
    field = WebDriverWait(block.parent, WAIT).until(
        lambda _: block.find_element(By.CSS_SELECTOR, selector))
    field.clear()
    field.send_keys(value)


def execute(driver, block):
    """Presses Execute and returns (status, body) of the live response."""
    # Clear an earlier answer first, so the one read is this call's.
    for clear in block.find_elements(By.CSS_SELECTOR, "button.btn-clear"):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", clear)
        clear.click()
    WebDriverWait(driver, WAIT).until(
        lambda _: not block.find_elements(By.CSS_SELECTOR, ".live-responses-table"))
    button = block.find_element(By.CSS_SELECTOR, "button.execute")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    status = WebDriverWait(driver, WAIT).until(
        lambda _: block.find_element(
            By.CSS_SELECTOR, ".live-responses-table .response .response-col_status"))
    WebDriverWait(driver, WAIT).until(lambda _: status.text.strip())
    code = status.text.strip().split()[0]
    body = ""
    bodies = block.find_elements(
        By.CSS_SELECTOR, ".live-responses-table .response-col_description pre")
    if bodies:
        body = bodies[0].text
    return code, body


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def authorize_button(driver):
    return driver.find_elements(By.CSS_SELECTOR, "button.authorize")


def scenario(driver, base):
    driver.get(f"{base}/api/v1/docs")
    WebDriverWait(driver, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))

    # Nothing to paste a token into: a page cannot send a Cookie header.
    check(not authorize_button(driver),
          "Authorize is offered under a session policy (a pasted cookie would get 401)")
    intro = driver.find_element(By.CSS_SELECTOR, ".info").text
    check("Log in" in intro, f"the page does not say how to sign in: {intro[:300]}")

    # Log in with "Try it out": the form's email and password fields.
    login = operation(driver, "post", "/api/v1/auth_session/login")
    fill(login, "tr[data-property-name='email'] input", EMAIL)
    fill(login, "tr[data-property-name='password'] input", PASSWORD)
    password_type = login.find_element(
        By.CSS_SELECTOR, "tr[data-property-name='password'] input").get_attribute("type")
    check(password_type == "password", f"the password field is shown in clear ({password_type})")
    code, body = execute(driver, login)
    check(code == "200", f"log in answered {code}: {body}")
    check(EMAIL in body, f"log in did not answer the user: {body}")
    cookies = [c["name"] for c in driver.get_cookies()]
    check("_my_session_id" in cookies, f"no session cookie in the browser: {cookies}")

    # GET /users/me, its own operation: the browser sends the cookie.
    me = operation(driver, "get", "/api/v1/users/me")
    code, body = execute(driver, me)
    check(code == "200", f"GET /users/me answered {code}: {body}")
    check(EMAIL in body and "Swagger" in body, f"GET /users/me is not the user: {body}")

    # A user list.
    users = operation(driver, "get", "/api/v1/users")
    code, body = execute(driver, users)
    check(code == "200", f"GET /users answered {code}: {body}")
    check(EMAIL in body, f"GET /users does not list the user: {body}")

    # Log out: the cookie is expired, so the same call has no credentials.
    logout = operation(driver, "delete", "/api/v1/auth_session/logout")
    code, body = execute(driver, logout)
    check(code == "200", f"log out answered {code}: {body}")
    cookies = [c["name"] for c in driver.get_cookies()]
    check("_my_session_id" not in cookies, f"the session cookie outlived log out: {cookies}")
    code, body = execute(driver, me)
    check(code == "401", f"GET /users/me after log out answered {code}: {body}")


def basic_scenario(driver, base):
    """Under basic_auth, Authorize offers Basic only, and it works."""
    driver.delete_all_cookies()
    driver.get(f"{base}/api/v1/docs")
    WebDriverWait(driver, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    buttons = authorize_button(driver)
    check(buttons, "no Authorize under basic_auth")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", buttons[0])
    buttons[0].click()
    modal = WebDriverWait(driver, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".modal-ux")))
    offered = [h.text for h in modal.find_elements(By.CSS_SELECTOR, ".auth-container h4")]
    check(len(offered) == 1 and "basic" in offered[0].lower(),
          f"Authorize offers more than Basic: {offered}")
    modal.find_element(By.CSS_SELECTOR, ".auth-container input[type='text']").send_keys(EMAIL)
    modal.find_element(By.CSS_SELECTOR, ".auth-container input[type='password']").send_keys(PASSWORD)
    modal.find_element(By.CSS_SELECTOR, "button.modal-btn.auth.authorize").click()
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".modal-ux button.btn-done"))
    driver.find_element(By.CSS_SELECTOR, ".modal-ux button.btn-done").click()
    me = operation(driver, "get", "/api/v1/users/me")
    code, body = execute(driver, me)
    check(code == "200", f"GET /users/me with Authorize (Basic) answered {code}: {body}")
    check(EMAIL in body, f"GET /users/me with Basic is not the user: {body}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    for path in (binary, CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            sys.exit(f"missing: {path}")
    started = time.time()
    with tempfile.TemporaryDirectory() as data_dir:
        for auth_type, run in (("session_db_auth", scenario), ("basic_auth", basic_scenario)):
            server, base = start_server(binary, data_dir, auth_type)
            driver = None
            try:
                driver = browser()
                run(driver, base)
            except Exception as error:  # report what the page showed, then fail
                if driver is not None:
                    shot = os.path.join(tempfile.gettempdir(), "swagger_ui_failure.png")
                    try:
                        driver.save_screenshot(shot)
                        print(f"screenshot: {shot}", file=sys.stderr)
                    except Exception:
                        pass
                server.terminate()
                server.wait(timeout=10)
                with open(os.path.join(data_dir, "server.log"), encoding="utf-8",
                          errors="replace") as log:
                    print(f"--- server log\n{log.read()[-4000:]}", file=sys.stderr)
                sys.exit(f"FAILED ({auth_type}): {error}")
            finally:
                if driver is not None:
                    driver.quit()
            server.terminate()
            server.wait(timeout=10)
    print("swagger ui: no Authorize under sessions, log in, GET /users/me, GET /users, "
          f"log out; Basic through Authorize: ok ({time.time() - started:.1f} s)")


if __name__ == "__main__":
    main()
