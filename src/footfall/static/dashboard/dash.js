/* footfall dashboard: the one thing that needs JavaScript — refreshing "visitors now". */
(function () {
  "use strict";
  var el = document.querySelector("[data-realtime]");
  if (!el || !window.fetch) return;
  var seconds = parseInt(el.getAttribute("data-interval"), 10) || 15;
  function refresh() {
    if (document.hidden) return;
    fetch(el.getAttribute("data-realtime"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (d && typeof d.visitors === "number") el.textContent = String(d.visitors);
      })
      .catch(function () {});
  }
  setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
})();
