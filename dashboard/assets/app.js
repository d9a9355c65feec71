// CliftonSites Admin: the little script every page loads (a file, not inline, so a
// strict Content-Security-Policy needs no 'unsafe-inline' for it).
// While the browser is offline or its socket to the server is down, the page says so
// in a status line and greys what it shows (body.cs-offline): the numbers on screen
// are the last ones received and may be out of date.
(() => {
  const TEXT = "Offline: reconnecting. What you see may be out of date.";
  let note = null;
  const mark = (offline) => {
    document.body.classList.toggle("cs-offline", offline);
    if (offline && !note) {
      note = document.createElement("div");
      note.className = "cs-offline-note";
      note.setAttribute("role", "status");
      note.dataset.testid = "offline-note";
      note.textContent = TEXT;
      document.body.appendChild(note);
    } else if (!offline && note) {
      note.remove();
      note = null;
    }
  };
  window.addEventListener("offline", () => mark(true));
  window.addEventListener("online", () => mark(!window.socket?.connected));
  let tries = 0;
  const follow = setInterval(() => {
    const socket = window.socket;
    if (socket || ++tries > 600) clearInterval(follow);
    if (!socket) return;
    socket.on("disconnect", () => mark(true));
    socket.on("connect", () => mark(false));
    socket.io.on("reconnect_attempt", () => mark(true));
  }, 50);
})();

// A table wider than the screen scrolls sideways inside its own box: that box says so
// and is reachable by Tab (arrow keys then scroll it), as WCAG asks of a scrolling region.
(() => {
  const label = (box) => {
    if (box.hasAttribute("tabindex")) return;
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Table (scrolls sideways on narrow screens)");
  };
  const scan = () => document.querySelectorAll(".q-table__middle, .cs-scroll").forEach(label);
  document.addEventListener("DOMContentLoaded", () => {
    scan();
    new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
  });
})();
