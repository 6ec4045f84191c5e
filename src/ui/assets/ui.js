// runner ui: a running run's page updates itself, and lineage graphs pan
// and zoom. Nothing else on the pages needs JavaScript.
(function () {
  "use strict";

  // Live: while the page says `data-live="1"`, fetch its fragment again and
  // swap it in (no reload, so the scroll position stays).
  function poll() {
    var live = document.getElementById("live");
    if (!live || live.getAttribute("data-live") !== "1" || location.protocol === "file:") return;
    setTimeout(function () {
      var url = location.pathname + location.search + (location.search ? "&" : "?") + "fragment=1";
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var t = document.createElement("template");
          t.innerHTML = html.trim();
          var fresh = t.content.getElementById("live");
          var now = document.getElementById("live");
          if (fresh && now) now.replaceWith(fresh);
          poll();
        })
        .catch(function () { setTimeout(poll, 3000); });
    }, 1500);
  }
  poll();

  // Pan and zoom: the graph's viewBox moves; the SVG itself never changes.
  function box(svg) { return svg.getAttribute("viewBox").split(/[ ,]+/).map(Number); }
  function setBox(svg, b) { svg.setAttribute("viewBox", b.map(function (v) { return v.toFixed(1); }).join(" ")); }
  function graphOf(e) { return e.target && e.target.closest ? e.target.closest("svg.lineage") : null; }
  function remember(svg) { if (!svg.hasAttribute("data-home")) svg.setAttribute("data-home", svg.getAttribute("viewBox")); }
  document.addEventListener("wheel", function (e) {
    var svg = graphOf(e);
    if (!svg) return;
    e.preventDefault();
    remember(svg);
    var b = box(svg), r = svg.getBoundingClientRect(), k = e.deltaY < 0 ? 0.8 : 1.25;
    var px = b[0] + (e.clientX - r.left) / r.width * b[2], py = b[1] + (e.clientY - r.top) / r.height * b[3];
    setBox(svg, [px - (px - b[0]) * k, py - (py - b[1]) * k, b[2] * k, b[3] * k]);
  }, { passive: false });
  var drag = null;
  document.addEventListener("mousedown", function (e) {
    var svg = graphOf(e);
    if (!svg || e.button !== 0) return;
    remember(svg);
    drag = { svg: svg, x: e.clientX, y: e.clientY, b: box(svg), moved: false };
  });
  document.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var r = drag.svg.getBoundingClientRect(), s = Math.max(drag.b[2] / r.width, drag.b[3] / r.height);
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) setBox(drag.svg, [drag.b[0] - dx * s, drag.b[1] - dy * s, drag.b[2], drag.b[3]]);
  });
  document.addEventListener("mouseup", function () { setTimeout(function () { drag = null; }, 0); });
  document.addEventListener("click", function (e) { if (drag && drag.moved) e.preventDefault(); }, true);
  document.addEventListener("dblclick", function (e) {
    var svg = graphOf(e);
    if (svg && svg.hasAttribute("data-home")) setBox(svg, box({ getAttribute: function () { return svg.getAttribute("data-home"); } }));
  });
})();
