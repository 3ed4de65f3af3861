// Network page: Cytoscape graph from /api/graph, refetched on every control change.
(function () {
  "use strict";
  var RELATION_COLOURS = {
    leader_of: "#8e44ad", member_of: "#2980b9", pledged_allegiance_to: "#c0392b",
    defected_from: "#d35400", joined: "#16a085", affiliate_of: "#e67e22", allied_with: "#27ae60",
    rival_of: "#7f1d1d", merged_into: "#6d4c41", active_in: "#95a5a6", recruits_in: "#f1c40f",
    attacked: "#e74c3c"
  };
  var TYPE_STYLE = {
    ORG: { shape: "round-rectangle", colour: "#2c3e80" },
    PERSON: { shape: "ellipse", colour: "#b03a2e" },
    PLACE: { shape: "diamond", colour: "#1e8449" }
  };
  var KIND_COLOUR = { armed_group: "#2c3e80", militia: "#5b2c6f", state_force: "#566573",
    state: "#707b7c", political: "#7d6608", international: "#117864", media: "#6e2c00",
    country: "#1e8449", region: "#52be80", city: "#145a32" };
  var $ = function (id) { return document.getElementById(id); };
  var el = window.Allegiance.el;

  var cy = cytoscape({
    container: $("cy"),
    elements: [],
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
        "label": "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
        "shape": "data(shape)", "background-color": "data(colour)", "width": "data(size)", "height": "data(size)",
        "color": "#222", "text-outline-width": 2, "text-outline-color": "#fff", "text-wrap": "ellipsis",
        "text-max-width": 120 } },
      { selector: "edge", style: {
        "line-color": "data(colour)", "target-arrow-color": "data(colour)", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "width": "data(width)", "opacity": 0.85, "arrow-scale": 0.8 } },
      { selector: "edge.hedged", style: { "line-style": "dashed" } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#f39c12" } }
    ]
  });
  window.cy = cy;

  function params() {
    var p = new URLSearchParams();
    ["since", "until", "relation", "source", "region"].forEach(function (k) {
      var v = $(k).value.trim();
      if (v) p.set(k, v);
    });
    if (!$("hedged").checked) p.set("include_hedged", "false");
    return p;
  }

  var seq = 0;
  function load() {
    var mine = ++seq;
    document.body.setAttribute("data-graph-state", "loading");
    fetch("/api/graph?" + params().toString()).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.detail || r.status); });
      return r.json();
    }).then(function (g) {
      if (mine !== seq) return;
      var maxM = Math.max.apply(null, [1].concat(g.nodes.map(function (n) { return n.mentions; })));
      var els = g.nodes.map(function (n) {
        var t = TYPE_STYLE[n.type] || { shape: "ellipse", colour: "#777" };
        return { group: "nodes", data: {
          id: n.id, label: n.label, type: n.type, kind: n.kind, shape: t.shape,
          colour: (n.type !== "PERSON" && KIND_COLOUR[n.kind]) || t.colour,
          size: 14 + 26 * Math.sqrt(n.mentions / maxM) } };
      }).concat(g.edges.map(function (e) {
        return { group: "edges", classes: e.hedged ? "hedged" : "", data: {
          id: "f" + e.id, fact: e.id, source: e.source, target: e.target, relation: e.relation,
          colour: RELATION_COLOURS[e.relation] || "#999", document_id: e.document_id, date: e.date,
          // attacks weigh distinct incidents, not reports (one attack told thrice is one)
          weight: e.weight, incident_id: e.incident_id || null, width: 1.5 + Math.min(6, e.weight || 1) } };
      }));
      cy.elements().remove();
      cy.add(els);
      cy.layout({ name: "cose", animate: false, randomize: false, nodeRepulsion: 9000, idealEdgeLength: 80,
                  padding: 20 }).run();
      $("graph-stats").textContent = g.nodes.length + " actors · " + g.edges.length + " facts";
      document.body.setAttribute("data-edges", String(g.edges.length));
      document.body.setAttribute("data-nodes", String(g.nodes.length));
      document.body.setAttribute("data-graph-state", "ready");
      if (!$("since").placeholder || $("since").placeholder === "year") {
        if (g.years.length) { $("since").placeholder = g.years[0]; $("until").placeholder = g.years[g.years.length - 1]; }
      }
    }).catch(function (err) {
      if (mine !== seq) return;
      $("graph-stats").textContent = "error: " + err.message;
      document.body.setAttribute("data-graph-state", "error");
    });
  }

  function legend() {
    var box = $("legend");
    box.appendChild(el("h3", {}, "Actors"));
    Object.keys(TYPE_STYLE).forEach(function (t) {
      var row = el("div", { "class": "lg" });
      var sw = el("span", { "class": "sw shape-" + TYPE_STYLE[t].shape });
      sw.style.background = TYPE_STYLE[t].colour;
      row.appendChild(sw); row.appendChild(document.createTextNode(t.toLowerCase()));
      box.appendChild(row);
    });
    box.appendChild(el("h3", {}, "Relations"));
    Object.keys(RELATION_COLOURS).forEach(function (r) {
      var row = el("div", { "class": "lg" });
      var sw = el("span", { "class": "sw line" });
      sw.style.background = RELATION_COLOURS[r];
      row.appendChild(sw); row.appendChild(document.createTextNode(r.replace(/_/g, " ")));
      box.appendChild(row);
    });
    box.appendChild(el("div", { "class": "lg muted" }, "dashed: hedged"));
    box.appendChild(el("div", { "class": "lg muted" }, "width: facts; for attacks, incidents"));
  }

  cy.on("tap", "node", function (ev) { window.location.href = "/actors/" + encodeURIComponent(ev.target.id()); });
  cy.on("tap", "edge", function (ev) {
    var d = ev.target.data();
    if (d.incident_id) { window.location.href = "/incidents/" + encodeURIComponent(d.incident_id); return; }
    if (d.document_id) window.location.href = "/documents/" + encodeURIComponent(d.document_id) + "?fact=" + encodeURIComponent(d.fact);
  });
  ["since", "until", "relation", "hedged"].forEach(function (k) { $(k).addEventListener("change", load); });
  var timer = null;
  $("source").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(load, 300); });
  $("region").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(load, 400); });
  $("reset").addEventListener("click", function () {
    ["since", "until", "relation", "source", "region"].forEach(function (k) { $(k).value = ""; });
    $("hedged").checked = true;
    load();
  });
  legend();
  load();
})();
