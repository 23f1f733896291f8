/* footfall dashboard's JavaScript, progressive enhancement only: refreshing "visitors now", and
   keyboard shortcuts for the period links (their data-key letter). */
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
    var key = (e.key || "").toLowerCase();
    if (!/^[a-z]$/.test(key)) return;
    var link = document.querySelector('.periods a[data-key="' + key + '"]');
    if (link) { e.preventDefault(); window.location.assign(link.href); }
  });
  // the chart's readout: the day pointed at, focused (keyboard) or tapped
  var readout = document.querySelector("[data-readout]");
  function show(e) {
    var t = e.target;
    if (readout && t && t.classList && t.classList.contains("hit")) {
      readout.textContent = t.getAttribute("aria-label");
    }
  }
  ["mouseover", "focusin", "click"].forEach(function (type) {
    document.addEventListener(type, show);
  });
})();
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
