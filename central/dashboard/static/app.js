// vendsync HQ dashboard: live updates and small conveniences. Pages work
// without this script; with it, the main section is fetched again whenever
// central's read model changes (server-sent events from /ui/events), so
// figures move without a reload.
(function () {
  "use strict";

  // Filter forms submit on change.
  document.addEventListener("change", function (ev) {
    var form = ev.target.form;
    if (form && form.hasAttribute("data-autosubmit")) {
      form.requestSubmit();
    }
  });

  // Parts that take longer to compute arrive after the page:
  // <div data-src="/ui/..."> is replaced by what that address answers.
  function loadParts() {
    document.querySelectorAll("[data-src]").forEach(function (el) {
      var src = el.getAttribute("data-src");
      el.removeAttribute("data-src");
      fetch(src, { headers: { "X-Partial": "main" }, credentials: "same-origin" })
        .then(function (res) { return res.ok ? res.text() : null; })
        .then(function (html) { if (html !== null) { el.innerHTML = html; } })
        .catch(function () {});
    });
  }
  loadParts();
  document.addEventListener("vs:refreshed", loadParts);

  var main = document.getElementById("main");
  if (!main || !main.hasAttribute("data-live") || !window.EventSource) {
    return;
  }
  var dot = document.getElementById("live");
  var busy = false, again = false;

  function mark(state, title) {
    if (!dot) return;
    dot.className = "live " + state;
    dot.title = "live updates: " + title;
  }

  // refresh fetches this page's main section and swaps it in, unless the
  // user is typing in it (their input would be lost).
  function refresh() {
    if (busy) { again = true; return; }
    var active = document.activeElement;
    if (active && main.contains(active) && (active.tagName === "INPUT" || active.tagName === "SELECT")) {
      again = true;
      return;
    }
    busy = true;
    fetch(location.href, { headers: { "X-Partial": "main" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (res.status === 401) { location.assign("/ui/login?next=" + encodeURIComponent(location.pathname + location.search)); return null; }
        if (!res.ok) { return null; }
        var pos = res.headers.get("X-Position");
        if (pos) { main.dataset.pos = pos; }
        return res.text();
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          main.innerHTML = html;
          main.dataset.refreshed = String(Date.now());
          document.dispatchEvent(new CustomEvent("vs:refreshed"));
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; setTimeout(refresh, 250); }
      });
  }

  document.addEventListener("focusout", function () { if (again && !busy) { again = false; refresh(); } });

  var es = new EventSource("/ui/events");
  es.addEventListener("open", function () { mark("on", "connected"); });
  es.addEventListener("error", function () { mark("off", "reconnecting"); });
  // The stream opens with the read model's position: a page read at an
  // older one missed a change while it loaded (or while reconnecting).
  es.addEventListener("position", function (ev) {
    if (ev.data !== main.dataset.pos) { refresh(); }
  });
  es.addEventListener("change", function (ev) {
    if (ev.data !== main.dataset.pos) { refresh(); }
  });
  es.addEventListener("tick", refresh);
  es.addEventListener("signedout", function () { es.close(); location.assign("/ui/login"); });
  window.addEventListener("pagehide", function () { es.close(); });
})();
