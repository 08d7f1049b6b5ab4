// eventkit dashboard: the theme toggle, the app switcher, confirmations and the Live
// stream. Everything works without this file except the Live page's streaming.
(function () {
  "use strict";
  var root = document.documentElement;

  function currentTheme() {
    var t = root.getAttribute("data-theme");
    if (t) return t;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.querySelectorAll("[data-theme-toggle]").forEach(function (b) {
    b.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("eventkit-theme", next); } catch (e) { /* ignore */ }
    });
  });

  // The app switcher keeps the page and the date range.
  document.querySelectorAll("[data-switcher] select").forEach(function (s) {
    s.addEventListener("change", function () {
      var q = new URLSearchParams(location.search), keep = new URLSearchParams();
      ["since", "until"].forEach(function (k) { if (q.get(k)) keep.set(k, q.get(k)); });
      var qs = keep.toString();
      location.href = s.dataset.base + encodeURIComponent(s.value) + "/" + s.dataset.page + (qs ? "?" + qs : "");
    });
  });

  document.querySelectorAll("form[data-confirm-text]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (!window.confirm(f.dataset.confirmText)) ev.preventDefault();
    });
  });

  var body = document.querySelector("[data-live-stream]");
  if (body && window.EventSource) {
    var status = document.querySelector("[data-live-status]");
    var source = new EventSource(body.dataset.liveStream);
    var cell = function (tr, text) { var td = document.createElement("td"); td.textContent = text || ""; tr.appendChild(td); return td; };
    source.addEventListener("open", function () { status.textContent = "live"; });
    source.addEventListener("error", function () {
      // The stream ends every few seconds and the browser resumes it; a refusal
      // (signed out, access removed) closes it for good.
      status.textContent = source.readyState === EventSource.CLOSED ? "stopped: reload to sign in" : "reconnecting…";
    });
    source.addEventListener("signed_out", function () { source.close(); status.textContent = "signed out"; });
    source.addEventListener("event", function (m) {
      var e = JSON.parse(m.data), tr = document.createElement("tr");
      tr.className = "new";
      cell(tr, e.time); cell(tr, e.name); cell(tr, e.who); cell(tr, e.platform); cell(tr, e.version);
      var p = cell(tr, e.properties);
      p.className = "props";
      body.insertBefore(tr, body.firstChild);
      while (body.children.length > 200) body.removeChild(body.lastChild);
    });
  }
})();
