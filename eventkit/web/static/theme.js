// Apply the saved theme before the page paints (no flash); the toggle is in app.js.
(function () {
  try {
    var t = localStorage.getItem("eventkit-theme");
    if (t === "dark" || t === "light") document.documentElement.setAttribute("data-theme", t);
  } catch (e) { /* storage blocked: follow the system */ }
})();
