#!/usr/bin/env python3
"""The screenshots README shows (make screenshots): the pages of section 10
of PROTOCOL.md, staged from the real binaries as interop/pages.py stages
them, and photographed in the same headless Chromium.

  page-chat.png        a student's page, chatting with a terminal client
  page-rejected.png    an AEAD page through a rogue server that drops and
                       replays: warnings and rejections, marked
  dashboard-plain.png  the teacher's view of a plain, guarded chat
  dashboard-ae.png     the same view of an AE chat: salts and tokens only
  dashboard-rogue.png  the view of a rogue server at work

Emoji and CJK need fonts-noto-color-emoji and fonts-noto-cjk (Debian's
packages). Usage: screenshots.py BIN_DIR OUT_DIR.
"""

import os
import sys
import time

from pages import (HOSTILE_NICK, Lab, open_dashboard, open_page, type_by_script, type_line,
                   wait, wait_frame, wait_line)
from selenium.webdriver.common.by import By

# The size of the shots: a projector's 16:10.
WIDTH, HEIGHT = 1280, 800
# The fonts the shots need for emoji and CJK.
FONTS = ("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
         "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def shoot(driver, out_dir, name):
    driver.set_window_size(WIDTH, HEIGHT)
    # Let the last line scroll into view and the fonts settle.
    time.sleep(0.5)
    path = os.path.join(out_dir, name)
    driver.save_screenshot(path)
    print(f"wrote {path}")


def page_chat(lab, out_dir):
    server = lab.server()
    alice = lab.page(server, "alice")
    bob = lab.terminal(server, "bob")
    driver = lab.browser()
    open_page(driver, alice)
    bob.send_line("hi alice, are you on the page?")
    type_line(driver, "yes! it looks like the pywebio one")
    type_by_script(driver, "héllo, 世界 🦀")
    bob.send_line("🎉 and the terminal still works")
    type_line(driver, "/list")
    wait_line(driver, "joined (2): alice, bob")
    type_line(driver, "/whois bob")
    wait(driver, "the /whois answer", lambda d: "signed_client" in d.page_source)
    driver.find_element(By.ID, "message").send_keys("typing…")
    shoot(driver, out_dir, "page-chat.png")


def page_rejected(lab, out_dir):
    server = lab.server("rogue_server", ["--attack", "drop,replay", "--delay", "0.5"])
    alice = lab.page(server, "alice", "aead_client")
    bob = lab.terminal(server, "bob", "aead_client")
    driver = lab.browser()
    open_page(driver, alice)
    for text in ("meet at noon", "bring the slides", "room 204", "see you"):
        bob.send_line(text)
    wait(driver, "a rejected replay",
         lambda d: len(d.find_elements(By.CSS_SELECTOR, ".line.rejected")) >= 2)
    shoot(driver, out_dir, "page-rejected.png")


def dashboard_plain(lab, out_dir):
    server = lab.server("simple_server", ["--guard"], dashboard=True)
    driver = lab.browser()
    open_dashboard(driver, server)
    alice = lab.terminal(server, "alice")
    bob = lab.terminal(server, "bob")
    mallory = lab.terminal(server, HOSTILE_NICK)
    alice.send_line("hello class")
    bob.send_line("my password is hunter2")
    mallory.send_line("<script>alert('pwned')</script> 😈")
    lab.spawn("simple_dos", server.args() + ["--evict", "alice"]).exited()
    alice.send_line("who can read this? everyone who reaches the server")
    wait_frame(driver, lambda f: f[1].startswith("who can read this"))
    wait(driver, "the guard's refusal",
         lambda d: d.find_element(By.ID, "refused-guard").text == "1")
    shoot(driver, out_dir, "dashboard-plain.png")


def dashboard_ae(lab, out_dir):
    server = lab.server("ae_server", dashboard=True)
    driver = lab.browser()
    open_dashboard(driver, server)
    alice = lab.terminal(server, "alice", "ae_client")
    bob = lab.terminal(server, "bob", "ae_client")
    alice.send_line("hello class")
    bob.send_line("my password is hunter2")
    alice.send_line("the server only sees salts and tokens")
    wait(driver, "three frames",
         lambda d: len(d.find_elements(By.CSS_SELECTOR, "#traffic .frame")) == 3)
    plain = lab.terminal(server, "eve")
    plain.send_line("in clear?")
    wait(driver, "the chat's refusal",
         lambda d: d.find_element(By.ID, "refused-chat").text == "1")
    shoot(driver, out_dir, "dashboard-ae.png")


def dashboard_rogue(lab, out_dir):
    server = lab.server("rogue_server", ["--attack", "tamper,impersonate", "--as", "admin"],
                        dashboard=True)
    driver = lab.browser()
    open_dashboard(driver, server)
    alice = lab.terminal(server, "alice", "ae_client")
    lab.terminal(server, "bob", "ae_client")
    alice.send_line("transfer 100 euros to bob")
    alice.send_line("and lunch at noon")
    wait(driver, "the rogue actions",
         lambda d: d.find_element(By.ID, "rogue").text == "4")
    shoot(driver, out_dir, "dashboard-rogue.png")


SHOTS = [page_chat, page_rejected, dashboard_plain, dashboard_ae, dashboard_rogue]


def main():
    if len(sys.argv) != 3:
        print("usage: screenshots.py BIN_DIR OUT_DIR", file=sys.stderr)
        return 2
    bin_dir, out_dir = sys.argv[1], sys.argv[2]
    missing = [font for font in FONTS if not os.path.exists(font)]
    if missing:
        print(f"warning: no {', '.join(missing)}: emoji or CJK will show as boxes "
              "(apt-get install fonts-noto-color-emoji fonts-noto-cjk)", file=sys.stderr)
    os.makedirs(out_dir, exist_ok=True)
    for shot in SHOTS:
        lab = Lab(bin_dir)
        try:
            shot(lab, out_dir)
        finally:
            lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
