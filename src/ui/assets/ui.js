// runner ui: a running run's page updates itself; lineage graphs pan, zoom
// and find nodes by name; graph nodes and timeline bars open their task.
// The pictures draw boxes and bars as one path per state (light at 10,000
// tasks); what each one is comes in the JSON after each SVG, which this
// script uses for clicks, tooltips, search and the labels of large graphs.
// Nothing else on the pages needs JavaScript.
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg", NODE_W = 180, NODE_H = 26;

  // Live: while the page says `data-live="1"`, fetch its fragment again and
  // swap it in (no reload, so the scroll position stays). The graph keeps
  // its zoom and the search box its text across the swap.
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
          if (fresh && now) {
            carry(now, fresh);
            now.replaceWith(fresh);
            var svg = fresh.querySelector("svg.lineage"), find = fresh.querySelector(".graph-find");
            if (svg) label(svg);
            if (find && find.value) search(find, false);
          }
          poll();
        })
        .catch(function () { setTimeout(poll, 3000); });
    }, 1500);
  }

  function carry(from, to) {
    var a = from.querySelector("svg.lineage"), b = to.querySelector("svg.lineage");
    if (a && b && a.getAttribute("data-home") && a.getAttribute("data-nodes") === b.getAttribute("data-nodes")) {
      b.setAttribute("data-home", a.getAttribute("data-home"));
      b.setAttribute("viewBox", a.getAttribute("viewBox"));
      b.classList.toggle("far", a.classList.contains("far"));
    }
    var f = from.querySelector(".graph-find"), g = to.querySelector(".graph-find");
    if (f && g) {
      g.value = f.value;
      if (document.activeElement === f) setTimeout(function () { g.focus(); }, 0);
    }
  }

  // The JSON after an SVG, read once: lineage rows are [id, label, state,
  // x, y]; timeline rows [id, state, x, y, width, tooltip].
  function data(svg) {
    if (!svg._rows) {
      var block = svg.nextElementSibling;
      svg._rows = block && block.type === "application/json" ? JSON.parse(block.textContent) : [];
    }
    return svg._rows;
  }
  // The row under the pointer, if any (the last drawn wins).
  function hit(svg, e) {
    var m = svg.getScreenCTM();
    if (!m) return null;
    var p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse()), rows = data(svg);
    var lineage = svg.classList.contains("lineage");
    for (var i = rows.length - 1; i >= 0; i--) {
      var r = rows[i], x = lineage ? r[3] : r[2], y = lineage ? r[4] : r[3];
      var w = lineage ? NODE_W : Math.max(r[4], 2), h = lineage ? NODE_H : 18;
      if (p.x >= x && p.x <= x + w && p.y >= y && p.y <= y + h) return r;
    }
    return null;
  }
  function pictureOf(e) { return e.target && e.target.closest ? e.target.closest("svg.lineage, svg.gantt") : null; }

  // Pan and zoom: the graph's viewBox moves; the SVG itself never changes.
  // Labels are hidden (class `far`) while too small to read.
  function box(svg) { return svg.getAttribute("viewBox").split(/[ ,]+/).map(Number); }
  function setBox(svg, b) {
    svg.setAttribute("viewBox", b.map(function (v) { return v.toFixed(1); }).join(" "));
    var r = svg.getBoundingClientRect();
    if (r.width > 0) svg.classList.toggle("far", Math.min(r.width / b[2], r.height / b[3]) < 0.35);
    label(svg);
  }
  // A large graph comes without labels: write those of the nodes in view
  // once they are large enough to read.
  function label(svg) {
    var g = svg.querySelector(".labels");
    if (!g || svg.classList.contains("far") || (g.childElementCount && !g._lazy)) return;
    g._lazy = true;
    g._done = g._done || {};
    var b = box(svg);
    data(svg).forEach(function (r, i) {
      if (g._done[i] || r[3] > b[0] + b[2] || r[3] + NODE_W < b[0] || r[4] > b[1] + b[3] || r[4] + NODE_H < b[1]) return;
      g._done[i] = true;
      var t = document.createElementNS(SVGNS, "text");
      t.setAttribute("x", r[3] + 8);
      t.setAttribute("y", r[4] + 17);
      t.textContent = r[1];
      g.appendChild(t);
    });
  }
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
  document.addEventListener("dblclick", function (e) {
    var svg = graphOf(e);
    if (svg && svg.hasAttribute("data-home")) setBox(svg, box({ getAttribute: function () { return svg.getAttribute("data-home"); } }));
  });

  // A node or a bar opens its task: the SVG's `data-href` followed by the
  // id percent-encoded as the server encodes path segments.
  function encode(id) {
    return id.replace(/[^A-Za-z0-9\-_.~]/g, function (c) {
      var e = encodeURIComponent(c);
      return e.charAt(0) === "%" ? e : "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  document.addEventListener("click", function (e) {
    if (drag && drag.moved) { e.preventDefault(); return; }
    var svg = pictureOf(e), r = svg && hit(svg, e);
    if (r && svg.hasAttribute("data-href")) location.href = svg.getAttribute("data-href") + encode(r[0]);
  });
  // The tooltip: one `<title>` per picture, saying what is under the pointer.
  document.addEventListener("mousemove", function (e) {
    var svg = pictureOf(e);
    if (!svg || drag) return;
    var r = hit(svg, e), lineage = svg.classList.contains("lineage");
    var text = r ? (lineage ? r[0] + " (" + r[2] + ")" : r[0] + " · " + r[5]) : "";
    var t = svg.querySelector(":scope > title");
    if (!t) { t = document.createElementNS(SVGNS, "title"); svg.insertBefore(t, svg.firstChild); }
    if (t.textContent !== text) t.textContent = text;
  });

  // Find a node by name: every node whose id holds the text is outlined
  // (the rest dimmed); the graph zooms to the first, an exact name first,
  // and Enter goes to the next.
  var MARKS = 1000;
  function search(input, zoom) {
    var scope = input.closest("#live") || document, svg = scope.querySelector("svg.lineage");
    var out = input.parentNode.querySelector(".graph-found");
    if (!svg) return;
    var q = input.value.trim().toLowerCase(), hits = [];
    var marks = svg.querySelector(".marks");
    if (marks) marks.remove();
    marks = document.createElementNS(SVGNS, "g");
    marks.setAttribute("class", "marks");
    svg.querySelector(".viewport").appendChild(marks);
    svg.classList.toggle("searching", q !== "");
    if (q) {
      data(svg).forEach(function (r) {
        var id = r[0].toLowerCase();
        if (id.indexOf(q) >= 0) hits.push({ r: r, exact: r[1].toLowerCase() === q || id.slice(-q.length - 1) === "." + q });
      });
    }
    hits.sort(function (a, b) { return (b.exact ? 1 : 0) - (a.exact ? 1 : 0); });
    input._hits = hits.map(function (h) { return h.r; });
    input._at = -1;
    input._hits.slice(0, MARKS).forEach(function (r) { marks.appendChild(mark(r, "mark")); });
    if (out) out.textContent = q ? hits.length + (hits.length === 1 ? " node found" : " nodes found") : "";
    if (zoom) next(input);
  }
  function mark(r, cls) {
    var m = document.createElementNS(SVGNS, "rect");
    m.setAttribute("class", cls);
    m.setAttribute("x", r[3]);
    m.setAttribute("y", r[4]);
    m.setAttribute("width", NODE_W);
    m.setAttribute("height", NODE_H);
    m.setAttribute("data-id", r[0]);
    return m;
  }
  function next(input) {
    var hits = input._hits || [], svg = (input.closest("#live") || document).querySelector("svg.lineage");
    if (!hits.length || !svg) return;
    input._at = (input._at + 1) % hits.length;
    var r = hits[input._at], marks = svg.querySelector(".marks"), old = marks.querySelector(".current");
    if (old) old.remove();
    marks.appendChild(mark(r, "mark current"));
    remember(svg);
    var b = svg.getBoundingClientRect(), w = Math.max(b.width, 200), h = Math.max(b.height, 100);
    setBox(svg, [r[3] + NODE_W / 2 - w / 2, r[4] + NODE_H / 2 - h / 2, w, h]);
    svg.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("input", function (e) {
    if (e.target.classList && e.target.classList.contains("graph-find")) search(e.target, true);
  });
  document.addEventListener("submit", function (e) {
    var input = e.target.querySelector && e.target.querySelector(".graph-find");
    if (!input) return;
    e.preventDefault();
    if (input._hits === undefined) search(input, true); else next(input);
  });
  poll();
})();
