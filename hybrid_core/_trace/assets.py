"""The stylesheet and script inlined into ``hybrid trace --html`` pages.

They live in Python strings so the page needs no package data and no network: the
script reads the trace from a JSON block in the page and builds everything else (the
timeline, the zoom, the details panel, the workflow graphs) in the browser.
"""

from __future__ import annotations

__all__ = ["CSS", "SCRIPT"]

CSS = r"""
:root { --ok:#2e9d5b; --bad:#d64545; --skip:#9aa0a6; --warn:#e08a1e; --undo:#8a5cc2;
  --run:#4a6fa5; --route:#3b8fd9; --wait:#c9b458; --open:#e6c229; --ink:#1f2328; --line:#d0d7de; }
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 0; background: #f6f8fa; }
header { padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 17px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 16px 0 8px; }
.problems { color: #9a6700; margin: 6px 0 0; padding-left: 18px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 340px; gap: 12px; padding: 12px 20px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }
.toolbar button { font: inherit; padding: 2px 10px; border: 1px solid var(--line);
  white-space: nowrap; background: #fff; border-radius: 4px; cursor: pointer; }
.toolbar .window { color: #57606a; margin-left: 8px; }
.legend { margin-left: auto; color: #57606a; }
.legend i { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 10px;
  border-radius: 2px; }
#timeline { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  overflow: hidden; }
.axis { position: relative; height: 22px; margin-left: 260px;
  border-bottom: 1px solid var(--line); }
.tick { position: absolute; top: 0; height: 100%; border-left: 1px solid var(--line);
  padding-left: 3px; font-size: 11px; color: #57606a; white-space: nowrap; }
.rows { max-height: 62vh; overflow-y: auto; }
.row { display: flex; height: 22px; align-items: center; cursor: pointer;
  border-bottom: 1px solid #f0f2f4; }
.row:hover { background: #f6f8fa; } .row.selected { background: #ddf4ff; }
.label { width: 260px; flex: none; padding: 0 6px; overflow: hidden; white-space: nowrap;
  text-overflow: ellipsis; }
.label .kind { color: #57606a; font-size: 11px; margin-right: 4px; }
.row.critical .label::before { content: "\2605"; color: #bf3989; margin-right: 3px; }
.row[hidden] { display: none; } .row.member { background: #fbfcfd; }
.label .toggle { display: inline-block; width: 12px; color: #57606a; }
.track { position: relative; flex: 1; height: 100%; overflow: hidden; }
.bar { position: absolute; top: 4px; height: 14px; min-width: 2px; border-radius: 3px;
  background: var(--ok); }
.kind-run .bar { background: var(--run); opacity: .75; }
.kind-route .bar { background: var(--route); height: 4px; top: 9px; }
.kind-wait .bar { background: var(--wait); }
.kind-undo .bar { background: var(--undo); }
.status-failed .bar, .status-error .bar, .status-undo_failed .bar { background: var(--bad); }
.status-skipped .bar { background: var(--skip); }
.status-compensated .bar { background: var(--warn); }
.status-unfinished .bar, .status-running .bar { background: var(--open); }
.row.critical .bar { outline: 2px solid #bf3989; outline-offset: 1px; }
#details { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
  align-self: start; position: sticky; top: 12px; max-height: 90vh; overflow: auto; }
#details table { border-collapse: collapse; width: 100%; }
#details td { border-top: 1px solid #f0f2f4; padding: 3px 4px; vertical-align: top;
  word-break: break-word; } #details td:first-child { color: #57606a; width: 35%; }
#details .empty { color: #57606a; }
#graphs { padding: 0 20px 24px; }
figure.graph { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  margin: 0 0 12px; padding: 8px; overflow-x: auto; }
figure.graph figcaption { font-weight: 600; margin-bottom: 6px; }
.node rect { fill: var(--ok); stroke: #0002; rx: 5; cursor: pointer; }
.node text { fill: #fff; font-size: 12px; pointer-events: none; }
.node.failed rect, .node.error rect, .node.undo_failed rect { fill: var(--bad); }
.node.skipped rect { fill: var(--skip); } .node.compensated rect { fill: var(--warn); }
.node.undone rect { fill: var(--undo); } .node.unfinished rect, .node.running rect,
.node.halted rect, .node.cancelled rect { fill: var(--open); } .node.selected rect { stroke: #000;
  stroke-width: 3; } .edge { stroke: #8c959f; stroke-width: 1.5; fill: none; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var spans = data.spans, byId = {}, rowsById = {}, nodesById = {};
  spans.forEach(function (s) { byId[s.id] = s; });
  var total = Math.max(data.total, 0.001), view = [0, total], selected = null, expanded = {};

  function el(tag, attrs, kids) {
    var svg = ["svg", "g", "rect", "text", "path", "title"].indexOf(tag) >= 0;
    var n = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
                : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") n.textContent = attrs[k]; else n.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) n.appendChild(c); });
    return n;
  }
  function ms(v) {
    if (v === null || v === undefined) return "";
    if (v < 1) return v.toFixed(2) + " ms";
    return v < 1000 ? v.toFixed(1) + " ms" : (v / 1000).toFixed(3) + " s";
  }
  function show(v) {
    if (Array.isArray(v)) return v.map(show).join(", ");
    if (v && typeof v === "object") {
      return Object.keys(v).map(function (k) { return k + ": " + show(v[k]); }).join(", ");
    }
    return String(v);
  }

  function header() {
    var h = el("header", {}, [el("h1", {text: data.title}), el("div", {text: data.summary})]);
    if (data.problems.length) {
      h.appendChild(el("ul", {"class": "problems"}, data.problems.map(function (p) {
        return el("li", {text: p});
      })));
    }
    return h;
  }

  function toolbar() {
    var label = el("span", {"class": "window", id: "window"});
    function button(text, id, fn) {
      var b = el("button", {id: id, text: text});
      b.onclick = fn;
      return b;
    }
    var legend = el("span", {"class": "legend"});
    [["ok", "succeeded"], ["bad", "failed"], ["skip", "skipped"], ["warn", "compensated"],
     ["undo", "undone"], ["open", "unfinished"]].forEach(function (p) {
      legend.appendChild(el("i", {style: "background:var(--" + p[0] + ")"}));
      legend.appendChild(document.createTextNode(p[1]));
    });
    legend.appendChild(document.createTextNode("  \u2605 critical path"));
    return el("div", {"class": "toolbar"}, [
      button("Zoom in", "zoom-in", function () { zoom(0.5, 0.5); }),
      button("Zoom out", "zoom-out", function () { zoom(2, 0.5); }),
      button("Reset", "zoom-reset", function () { view = [0, total]; render(); }), label, legend]);
  }

  function timeline() {
    var rows = el("div", {"class": "rows"});
    spans.forEach(function (s) {
      var cls = "row kind-" + s.kind + " status-" + s.status + (s.critical ? " critical" : "") +
        (s.folded ? " fold" : "") + (s.groups.length ? " member" : "");
      var kids = [el("span", {"class": "kind", text: s.kind}), el("span", {text: s.name})];
      if (s.folded) kids.unshift(el("span", {"class": "toggle", text: "\u25b8"}));
      var label = el("div", {"class": "label", title: s.kind + " " + s.name,
                             style: "padding-left:" + (6 + 14 * s.depth) + "px"}, kids);
      var bar = el("div", {"class": "bar", title: s.name + " " + ms(s.duration)});
      var attrs = {"class": cls, "data-span-id": s.id, "data-kind": s.kind,
                   "data-status": s.status};
      if (s.folded) {
        attrs["data-count"] = s.folded.count;
        attrs["aria-expanded"] = "false";
      }
      var row = el("div", attrs, [label, el("div", {"class": "track"}, [bar])]);
      row.onclick = function () {
        if (s.folded) toggle(s.id, !expanded[s.id]);
        select(s.id);
      };
      rowsById[s.id] = row;
      rows.appendChild(row);
    });
    refresh();
    var box = el("section", {id: "timeline"}, [el("div", {"class": "axis", id: "axis"}), rows]);
    box.addEventListener("wheel", function (e) {
      var track = box.querySelector(".track");
      if (!track || !e.ctrlKey && !e.altKey) return;
      e.preventDefault();
      var r = track.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 0.8 : 1.25, Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1));
    }, {passive: false});
    var drag = null;
    box.addEventListener("mousedown", function (e) { drag = {x: e.clientX, view: view.slice()}; });
    window.addEventListener("mouseup", function () { drag = null; });
    window.addEventListener("mousemove", function (e) {
      var track = box.querySelector(".track");
      if (!drag || !track) return;
      var width = track.getBoundingClientRect().width;
      var shift = (drag.x - e.clientX) / width * (drag.view[1] - drag.view[0]);
      if (Math.abs(drag.x - e.clientX) > 3) setView(drag.view[0] + shift, drag.view[1] + shift);
    });
    return box;
  }

  // A fold's members (the runs of a map step's elements) show once it is opened.
  function toggle(id, open) {
    expanded[id] = open;
    rowsById[id].setAttribute("aria-expanded", open ? "true" : "false");
    rowsById[id].querySelector(".toggle").textContent = open ? "\u25be" : "\u25b8";
    refresh();
  }
  function refresh() {
    spans.forEach(function (s) {
      var hidden = s.groups.some(function (g) { return !expanded[g]; });
      rowsById[s.id].hidden = hidden;
      if (hidden) rowsById[s.id].setAttribute("data-hidden", "true");
      else rowsById[s.id].removeAttribute("data-hidden");
    });
  }

  function setView(a, b) {
    var width = Math.max(b - a, total / 1e6);
    a = Math.min(Math.max(a, 0), Math.max(total - width, 0));
    view = [a, Math.min(a + width, Math.max(total, a + width))];
    render();
  }
  function zoom(factor, at) {
    var w = view[1] - view[0], center = view[0] + w * at, nw = Math.min(w * factor, total);
    setView(center - nw * at, center - nw * at + nw);
  }

  function render() {
    var w = view[1] - view[0];
    spans.forEach(function (s) {
      var bar = rowsById[s.id].querySelector(".bar");
      var end = s.end === null ? s.start : s.end;
      bar.style.left = ((s.start - view[0]) / w * 100) + "%";
      bar.style.width = ((end - s.start) / w * 100) + "%";
    });
    var axis = document.getElementById("axis");
    axis.textContent = "";
    var step = niceStep(w / 8);
    for (var t = Math.ceil(view[0] / step) * step; t <= view[1]; t += step) {
      axis.appendChild(el("div", {"class": "tick", style: "left:" + ((t - view[0]) / w * 100) + "%",
                                  text: ms(t)}));
    }
    document.getElementById("window").textContent = "showing " + ms(view[0]) + " to " + ms(view[1]);
  }
  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-6)))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
  }

  function details() {
    return el("aside", {id: "details"}, [el("h2", {text: "Details"}),
      el("p", {"class": "empty", text: "Click a row or a graph node to see its details."})]);
  }
  function select(id) {
    var s = byId[id];
    if (!s) return;
    s.groups.forEach(function (g) { if (!expanded[g]) toggle(g, true); });
    if (selected) {
      rowsById[selected].classList.remove("selected");
      if (nodesById[selected]) nodesById[selected].classList.remove("selected");
    }
    selected = id;
    rowsById[id].classList.add("selected");
    if (nodesById[id]) nodesById[id].classList.add("selected");
    if (rowsById[id].scrollIntoView) rowsById[id].scrollIntoView({block: "nearest"});
    var rows = [["kind", s.kind], ["status", s.status], ["starts at", ms(s.start)],
                ["took", ms(s.duration)], ["critical path", s.critical ? "yes" : "no"],
                ["span id", s.id], ["parent span", s.parent ||
                  (s.outside_parent ? s.outside_parent + " (outside this trace)" : "-")]];
    Object.keys(s.attributes).forEach(function (k) {
      if (k === "status") return;  // shown above
      rows.push([k === "kind" ? s.kind + " kind" : k, show(s.attributes[k])]);
    });
    s.notes.forEach(function (n) { rows.push([n.name + " @ " + ms(n.at), show(n.attributes)]); });
    var box = document.getElementById("details");
    box.textContent = "";
    box.appendChild(el("h2", {text: s.kind + " " + s.name}));
    box.appendChild(el("table", {"data-span-id": s.id}, rows.map(function (r) {
      return el("tr", {}, [el("td", {text: r[0]}), el("td", {text: r[1]})]);
    })));
    if (location.hash !== "#span=" + id && history.replaceState) {
      history.replaceState(null, "", "#span=" + id);
    }
  }

  function layers(run) {
    var layer = {}, names = run.nodes.map(function (n) { return n.name; });
    if (run.edges.length) {
      var deps = {};
      run.edges.forEach(function (e) { (deps[e[1]] = deps[e[1]] || []).push(e[0]); });
      var depth = function (n, seen) {
        if (layer[n] !== undefined) return layer[n];
        if (seen[n]) return 0;
        seen[n] = true;
        layer[n] = (deps[n] || []).reduce(function (m, d) {
          return Math.max(m, depth(d, seen) + 1);
        }, 0);
        return layer[n];
      };
      names.forEach(function (n) { depth(n, {}); });
    } else {
      var current = 0, until = -Infinity;
      run.nodes.slice().sort(function (a, b) { return a.start - b.start; }).forEach(function (n) {
        if (n.start >= until && until !== -Infinity) current += 1;
        layer[n.name] = current;
        until = Math.max(until === -Infinity ? n.end : until, n.end);
      });
    }
    return layer;
  }

  function graph(run) {
    var many = run.runs > 1 ? " \u2014 one graph for " + run.runs + " element runs, shown: " +
      run.element + (run.failed ? " (" + run.failed + " did not succeed)" : "") : "";
    var fig = el("figure", {"class": "graph", "data-run": run.id}, [el("figcaption", {text:
      "workflow " + run.name + " (" + run.status + ")" + many + (run.edges.length ? "" :
      " \u2014 steps placed by when they ran: the trace holds no dependency graph")})]);
    if (run.nodes.length > 300) {
      fig.appendChild(el("p", {text: run.nodes.length + " steps: too many to draw"}));
      return fig;
    }
    var layer = layers(run), columns = {}, pos = {};
    run.nodes.forEach(function (n) {
      var l = layer[n.name] || 0;
      columns[l] = (columns[l] || 0) + 1;
      pos[n.name] = {x: 10 + l * 190, y: 10 + (columns[l] - 1) * 44};
    });
    var counts = Object.keys(columns).map(function (k) { return columns[k]; });
    var tallest = Math.max.apply(null, counts);
    var height = 20 + 44 * tallest;
    var width = 20 + 190 * (1 + Math.max.apply(null, Object.keys(columns).map(Number)));
    var svg = el("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height});
    run.edges.forEach(function (e) {
      var a = pos[e[0]], b = pos[e[1]];
      if (!a || !b) return;
      var d = "M" + (a.x + 160) + "," + (a.y + 15) + " C" + (a.x + 175) + "," + (a.y + 15) + " " +
              (b.x - 15) + "," + (b.y + 15) + " " + b.x + "," + (b.y + 15);
      svg.appendChild(el("path", {"class": "edge", d: d}));
    });
    run.nodes.forEach(function (n) {
      var p = pos[n.name], text = n.name.length > 22 ? n.name.slice(0, 21) + "\u2026" : n.name;
      var g = el("g", {"class": "node " + n.status, "data-step": n.name, "data-span-id": n.id,
                       transform: "translate(" + p.x + "," + p.y + ")"},
                 [el("rect", {width: 160, height: 30}), el("text", {x: 8, y: 19, text: text}),
                  el("title", {text: n.name + ": " + n.status})]);
      g.addEventListener("click", function () { select(n.id); });
      nodesById[n.id] = g;
      svg.appendChild(g);
    });
    fig.appendChild(svg);
    return fig;
  }

  var app = document.getElementById("app");
  app.appendChild(header());
  var main = el("main", {}, [el("div", {}, [toolbar(), timeline()]), details()]);
  app.appendChild(main);
  app.appendChild(el("section", {id: "graphs"}, [el("h2", {text: "Workflow graphs"})]
    .concat(data.runs.map(graph))));
  var hash = location.hash.replace(/^#/, "");
  var viewMatch = /view=([0-9.]+),([0-9.]+)/.exec(hash);
  if (viewMatch) setView(parseFloat(viewMatch[1]), parseFloat(viewMatch[2])); else render();
  var spanMatch = /span=([0-9a-f]+)/.exec(hash);
  if (spanMatch) select(spanMatch[1]);
  document.body.setAttribute("data-ready", "true");
})();
"""
