// Network page: Cytoscape graph of ties (one edge per subject-relation-object) from /api/graph.
// State lives in the URL (filters, as-of date), so Back and Forward restore it; node positions
// live in `positions` (per actor id) and survive every refetch, so moving the date only adds,
// removes and restyles edges while the nodes stay where the analyst saw them.
// Data from the store is hostile: it goes into textContent and Cytoscape data only.
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
  // at most this many labels drawn at once (the best-connected nodes); the others show on hover,
  // so 150 nodes stay readable
  var LABELS = 30;
  var FILTERS = ["since", "until", "relation", "source", "region"];
  var $ = function (id) { return document.getElementById(id); };
  var el = window.Allegiance.el;

  var cy = cytoscape({
    container: $("cy"),
    elements: [],
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
        "label": "", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
        "shape": "data(shape)", "background-color": "data(colour)", "width": "data(size)", "height": "data(size)",
        "color": "#222", "text-outline-width": 2, "text-outline-color": "#fff", "text-wrap": "ellipsis",
        "text-max-width": 120, "min-zoomed-font-size": 7 } },
      { selector: "node.labelled, node.hovered, node.neighbour, node:selected", style: { "label": "data(label)" } },
      { selector: "node.hovered", style: { "z-index": 20, "font-size": 12, "font-weight": "bold" } },
      { selector: "edge", style: {
        "line-color": "data(colour)", "target-arrow-color": "data(colour)", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "width": "data(width)", "opacity": 0.85, "arrow-scale": 0.8 } },
      { selector: "edge.hedged", style: { "line-style": "dashed" } },
      { selector: "edge.ended", style: { "line-style": "dotted", "opacity": 0.5 } },
      { selector: "edge.hovered", style: { "opacity": 1, "z-index": 20 } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#f39c12" } }
    ]
  });
  window.cy = cy;

  var positions = {};   // actor id -> {x, y}: kept across every refetch
  var years = [];
  // read by tests and the console: positions per actor, loads done, the last /api/graph query
  var state = window.netState = { positions: positions, loads: 0, url: "" };

  // -- URL state ------------------------------------------------------------------------
  function readControls() {
    var p = new URLSearchParams();
    FILTERS.forEach(function (k) { var v = $(k).value.trim(); if (v) p.set(k, v); });
    if (!$("hedged").checked) p.set("include_hedged", "false");
    if ($("time-on").checked) p.set("as_of", currentPeriod());
    if ($("grain").value === "month") p.set("grain", "month");
    // how many ties to draw (the API's default otherwise): only from the page's URL
    var limit = new URLSearchParams(window.location.search).get("limit");
    if (limit && /^[0-9]+$/.test(limit)) p.set("limit", limit);
    return p;
  }
  function writeControls(p) {
    FILTERS.forEach(function (k) { $(k).value = p.get(k) || ""; });
    $("hedged").checked = p.get("include_hedged") !== "false";
    $("grain").value = p.get("grain") === "month" ? "month" : "year";
    setSteps();
    var asOf = p.get("as_of");
    $("time-on").checked = !!asOf;
    if (asOf) {
      var i = periods().indexOf($("grain").value === "month" ? asOf.slice(0, 7) : asOf.slice(0, 4));
      if (i >= 0) $("time").value = String(i);
    }
    showPeriod();
  }
  function apiParams(p) {  // what /api/graph takes from the page's URL
    var q = new URLSearchParams(p);
    q.delete("grain");
    return q;
  }
  // a user's change: a new history entry; playing replaces it, so Back skips the frames
  function commit(replace) {
    var p = readControls();
    var url = "/network" + (p.toString() ? "?" + p.toString() : "");
    if (url !== window.location.pathname + window.location.search) {
      if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
    }
    load(p);
  }
  window.addEventListener("popstate", function () {
    stop();
    var p = new URLSearchParams(window.location.search);
    writeControls(p);
    load(p);
  });

  // -- time slider ----------------------------------------------------------------------
  function periods() {
    if (!years.length) return [];
    var out = [];
    for (var y = years[0]; y <= years[years.length - 1]; y++) {
      if ($("grain").value === "month") {
        for (var m = 1; m <= 12; m++) out.push(y + "-" + (m < 10 ? "0" : "") + m);
      } else out.push(String(y));
    }
    return out;
  }
  state.periods = periods;
  function setSteps() {
    var ps = periods();
    var prev = currentPeriod();
    $("time").max = String(Math.max(0, ps.length - 1));
    $("time").disabled = !ps.length;
    if (prev) {
      var i = ps.indexOf($("grain").value === "month" ? (prev.length === 4 ? prev + "-12" : prev) : prev.slice(0, 4));
      if (i >= 0) $("time").value = String(i);
    }
  }
  function currentPeriod() {
    var ps = periods();
    return ps[Number($("time").value)] || ps[ps.length - 1] || "";
  }
  function showPeriod() {
    $("time-label").textContent = $("time-on").checked ? "as of " + currentPeriod() : "all time";
    var p = currentPeriod();
    var link = new URLSearchParams();
    if (p) { link.set("since", String(Number(p.slice(0, 4)) - 1) + p.slice(4)); link.set("until", p); }
    $("changes-link").href = "/changes?" + link.toString();
  }
  var player = null;
  function stop() {
    if (player) clearInterval(player);
    player = null;
    $("play").textContent = "Play";
    $("play").setAttribute("aria-pressed", "false");
  }
  $("play").addEventListener("click", function () {
    if (player) { stop(); return; }
    if (!$("time-on").checked || Number($("time").value) >= Number($("time").max)) $("time").value = "0";
    $("time-on").checked = true;
    $("play").textContent = "Pause";
    $("play").setAttribute("aria-pressed", "true");
    showPeriod(); commit(false);
    player = setInterval(function () {
      if (Number($("time").value) >= Number($("time").max)) { stop(); return; }
      $("time").value = String(Number($("time").value) + 1);
      showPeriod(); commit(true);
    }, 1200);
  });
  $("time").addEventListener("input", function () { $("time-on").checked = true; showPeriod(); });
  $("time").addEventListener("change", function () { stop(); $("time-on").checked = true; showPeriod(); commit(false); });
  $("time-on").addEventListener("change", function () { stop(); showPeriod(); commit(false); });
  $("grain").addEventListener("change", function () { setSteps(); showPeriod(); commit(false); });

  // -- drawing --------------------------------------------------------------------------
  function nodeData(n, maxM) {
    var t = TYPE_STYLE[n.type] || { shape: "ellipse", colour: "#777" };
    return { id: n.id, label: n.label, type: n.type, kind: n.kind, shape: t.shape, degree: n.degree,
      mentions: n.mentions, documents: n.documents,
      colour: (n.type !== "PERSON" && KIND_COLOUR[n.kind]) || t.colour,
      size: 14 + 26 * Math.sqrt((n.mentions || 0) / maxM) };
  }
  function edgeData(e) {
    return { id: e.id, source: e.source, target: e.target, relation: e.relation,
      colour: RELATION_COLOURS[e.relation] || "#999", facts: e.facts, fact_ids: e.fact_ids, sources: e.sources,
      first: e.first, last: e.last, date: e.last, start: e.start, end: e.end, as_reported: e.as_reported,
      // attacks weigh distinct incidents, not reports (one attack told thrice is one)
      weight: e.weight, incident_id: e.incident_id || null, incident_ids: e.incident_ids || [],
      width: 1.5 + Math.min(6, e.weight || 1) };
  }
  // new nodes go next to a neighbour that already has a place (else near the centre); then a
  // layout moves only them: every node with a place is locked while it runs
  function place(added) {
    var fresh = added.filter(function (n) { return !positions[n.id()]; });
    if (!fresh.length) return;
    var known = cy.nodes().filter(function (n) { return !!positions[n.id()]; });
    var ext = known.length ? known.boundingBox() : { x1: 0, y1: 0, w: 400, h: 300 };
    fresh.forEach(function (n, i) {
      var anchor = n.neighborhood("node").filter(function (m) { return !!positions[m.id()]; })[0];
      var a = anchor ? positions[anchor.id()] : { x: ext.x1 + ext.w / 2, y: ext.y1 + ext.h / 2 };
      var angle = (i * 2.399963) % (2 * Math.PI);   // golden angle: no two start on top of each other
      n.position({ x: a.x + 60 * Math.cos(angle), y: a.y + 60 * Math.sin(angle) });
    });
    if (known.length) known.lock();
    var opts = { name: "cose", animate: false, randomize: !known.length, nodeRepulsion: 9000,
      idealEdgeLength: 80, padding: 20, fit: false };
    (known.length ? fresh.union(fresh.connectedEdges()).union(known) : cy.elements()).layout(opts).run();
    known.unlock();
    fresh.forEach(function (n) { positions[n.id()] = { x: n.position("x"), y: n.position("y") }; });
  }
  function labels() {
    var nodes = cy.nodes().sort(function (a, b) { return (b.data("degree") || 0) - (a.data("degree") || 0); });
    nodes.removeClass("labelled");
    nodes.slice(0, LABELS).addClass("labelled");
  }
  function draw(g, merge) {
    var maxM = Math.max.apply(null, [1].concat(g.nodes.map(function (n) { return n.mentions || 0; })));
    cy.batch(function () {
      var nodeIds = {}, edgeIds = {};
      g.nodes.forEach(function (n) { nodeIds[n.id] = true; });
      g.edges.forEach(function (e) { edgeIds[e.id] = true; });
      if (!merge) {
        cy.edges().filter(function (e) { return !edgeIds[e.id()]; }).remove();
        cy.nodes().filter(function (n) { return !nodeIds[n.id()]; }).remove();
      }
      g.nodes.forEach(function (n) {
        var have = cy.getElementById(n.id);
        if (have.length) { have.data(nodeData(n, maxM)); return; }
        var d = { group: "nodes", data: nodeData(n, maxM) };
        if (positions[n.id]) d.position = { x: positions[n.id].x, y: positions[n.id].y };
        cy.add(d);
      });
      g.edges.forEach(function (e) {
        var have = cy.getElementById(e.id);
        var cls = (e.hedged ? "hedged " : "") + (e.ended ? "ended" : "");
        if (have.length) { have.data(edgeData(e)); have.classes(cls); return; }
        cy.add({ group: "edges", classes: cls, data: edgeData(e) });
      });
    });
    place(cy.nodes());
    labels();
  }

  var seq = 0;
  function fetchGraph(q) {
    return fetch("/api/graph?" + q.toString()).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.detail || r.status); });
      return r.json();
    });
  }
  function load(p) {
    var mine = ++seq;
    p = p || readControls();
    var q = apiParams(p);
    document.body.setAttribute("data-graph-state", "loading");
    // the first draw lays out every node of these filters over all time, so that the nodes a
    // date adds later already have their place
    var union = q.get("as_of") && !state.loads ? (function () {
      var all = new URLSearchParams(q); all.delete("as_of");
      return fetchGraph(all).then(function (g) { if (mine === seq) draw(g, false); });
    })() : Promise.resolve();
    union.then(function () { return fetchGraph(q); }).then(function (g) {
      if (mine !== seq) return;
      if (!state.loads) cy.elements().remove();
      draw(g, false);
      if (!state.loads) {
        cy.fit(undefined, 20);
        if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }  // a handful of nodes: not giant
      }
      state.loads += 1;
      state.url = q.toString();
      var c = g.counts || {};
      var fmt = function (n) { return Number(n || 0).toLocaleString("en-US"); };
      // the API draws the heaviest ties only (limit): say how many there are in all
      var ties = g.truncated ?
        "showing " + fmt(g.edges.length) + " of " + fmt(c.ties_total) + " ties (most facts first)" :
        fmt(g.edges.length) + " ties";
      $("graph-stats").textContent = fmt(g.nodes.length) + " actors · " + ties + " · " +
        fmt(c.facts) + " facts (" + fmt(c.as_reported) + " dated as reported)" +
        (g.truncated ? " of " + fmt(c.facts_total) : "") +
        (c.undated ? " · " + fmt(c.undated) + " undated facts not placed" : "");
      document.body.setAttribute("data-truncated", g.truncated ? "true" : "false");
      document.body.setAttribute("data-edges", String(g.edges.length));
      document.body.setAttribute("data-nodes", String(g.nodes.length));
      document.body.setAttribute("data-graph-state", "ready");
    }).catch(function (err) {
      if (mine !== seq) return;
      $("graph-stats").textContent = "error: " + err.message;
      document.body.setAttribute("data-graph-state", "error");
    });
  }

  // -- hover card -----------------------------------------------------------------------
  var card = $("hover-card");
  function cardLines(lines, ev) {
    card.textContent = "";
    lines.forEach(function (l, i) { card.appendChild(el("div", i === 0 ? { "class": "title" } : {}, l)); });
    var pos = ev.renderedPosition || { x: 0, y: 0 };
    var box = $("cy").getBoundingClientRect();
    card.style.left = (box.left + pos.x + 14) + "px";
    card.style.top = (box.top + pos.y + 14) + "px";
    card.hidden = false;
  }
  function span(d) {
    return (d.first || "?") + (d.last && d.last !== d.first ? " – " + d.last : "");
  }
  cy.on("mouseover", "node", function (ev) {
    var n = ev.target, d = n.data();
    n.addClass("hovered");
    n.neighborhood("node").addClass("neighbour");
    n.connectedEdges().addClass("hovered");
    cardLines([d.label, (d.type || "").toLowerCase() + (d.kind ? " · " + d.kind.replace(/_/g, " ") : ""),
      (d.degree || 0) + " ties shown · " + (d.mentions || 0) + " mentions in " + (d.documents || 0) + " documents"], ev);
  });
  cy.on("mouseout", "node", function (ev) {
    ev.target.removeClass("hovered");
    cy.nodes(".neighbour").removeClass("neighbour");
    cy.edges(".hovered").removeClass("hovered");
    card.hidden = true;
  });
  cy.on("mouseover", "edge", function (ev) {
    var d = ev.target.data();
    ev.target.addClass("hovered");
    ev.target.connectedNodes().addClass("neighbour");
    var lines = [ev.target.source().data("label") + " " + d.relation.replace(/_/g, " ") + " " + ev.target.target().data("label"),
      d.facts + " fact" + (d.facts === 1 ? "" : "s") + " from " + d.sources + " source" + (d.sources === 1 ? "" : "s"),
      "reported " + span(d) + (d.as_reported ? " (" + d.as_reported + " dated as reported)" : "")];
    if (d.end) lines.push("ended " + d.end);
    if (d.relation === "attacked") lines.push(d.weight + " distinct incident" + (d.weight === 1 ? "" : "s"));
    cardLines(lines, ev);
  });
  cy.on("mouseout", "edge", function (ev) {
    ev.target.removeClass("hovered");
    cy.nodes(".neighbour").removeClass("neighbour");
    card.hidden = true;
  });

  // -- side panel: a tie's evidence, a node's card and "expand neighbours" ----------------
  var panel = $("tie-panel");
  function showTie(edge) {
    var d = edge.data();
    var q = new URLSearchParams(state.url);
    panel.textContent = "";
    panel.hidden = false;
    panel.appendChild(el("h3", {}, edge.source().data("label") + " " + d.relation.replace(/_/g, " ") + " " +
      edge.target().data("label")));
    panel.appendChild(el("div", { "class": "muted" }, d.facts + " facts · " + d.sources + " sources · " + span(d)));
    var list = el("ul", { id: "tie-facts" });
    panel.appendChild(list);
    list.appendChild(el("li", { "class": "muted" }, "loading…"));
    fetch("/api/ties/" + encodeURIComponent(d.id) + "?" + q.toString()).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (t) {
      list.textContent = "";
      t.facts.forEach(function (f) {
        var li = el("li", { "class": "tie-fact", "data-fact": f.id });
        var when = el("span", { "class": "date" }, (f.when || "undated") + " ");
        li.appendChild(when);
        if (f.date_source === "as_reported") li.appendChild(el("span", { "class": "badge as-reported" }, "as reported"));
        li.appendChild(el("q", { "class": "evidence" }, f.evidence || ""));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("a", { href: "/documents/" + encodeURIComponent(f.document_id) + "?fact=" + encodeURIComponent(f.id) },
          f.title || f.doc_id || "document"));
        list.appendChild(li);
      });
      (d.incident_ids || []).forEach(function (iid) {
        var li = el("li");
        li.appendChild(el("a", { "class": "incident-link", href: "/incidents/" + encodeURIComponent(iid) }, "incident " + iid));
        list.appendChild(li);
      });
      panel.setAttribute("data-tie", d.id);
    }).catch(function (e) { list.textContent = "failed: " + e.message; });
  }
  function showNode(node) {
    var d = node.data();
    panel.textContent = "";
    panel.hidden = false;
    panel.removeAttribute("data-tie");
    panel.appendChild(el("h3", {}, d.label));
    panel.appendChild(el("div", { "class": "muted" }, (d.type || "").toLowerCase() + " · " + (d.degree || 0) + " ties shown"));
    var open = el("a", { href: "/actors/" + encodeURIComponent(d.id), id: "open-actor" }, "open actor page");
    panel.appendChild(open);
    panel.appendChild(document.createTextNode(" "));
    var btn = el("button", { type: "button", id: "expand" }, "expand neighbours");
    btn.addEventListener("click", function () { expand(node); });
    panel.appendChild(btn);
  }
  // a node's ties under the same date and filters (any relation), added in place: nothing else moves
  function expand(node) {
    var q = new URLSearchParams(state.url);
    q.set("actor", node.id());
    q.delete("relation");  // every tie of the node, not only the relation shown
    document.body.setAttribute("data-graph-state", "loading");
    fetchGraph(q).then(function (g) {
      var before = cy.nodes().length;
      draw(g, true);
      document.body.setAttribute("data-expanded", String(cy.nodes().length - before));
      document.body.setAttribute("data-edges", String(cy.edges().length));
      document.body.setAttribute("data-nodes", String(cy.nodes().length));
      document.body.setAttribute("data-graph-state", "ready");
    }).catch(function (e) {
      $("graph-stats").textContent = "error: " + e.message;
      document.body.setAttribute("data-graph-state", "error");
    });
  }
  cy.on("tap", "node", function (ev) { showNode(ev.target); });
  cy.on("dbltap", "node", function (ev) { expand(ev.target); });
  cy.on("tap", "edge", function (ev) { showTie(ev.target); });
  cy.on("dragfree", "node", function (ev) {  // a node the analyst moved stays where it was put
    positions[ev.target.id()] = { x: ev.target.position("x"), y: ev.target.position("y") };
  });

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
    box.appendChild(el("div", { "class": "lg muted" }, "labels: the " + LABELS + " best-connected; hover for others"));
  }

  ["since", "until", "relation", "hedged"].forEach(function (k) { $(k).addEventListener("change", function () { commit(false); }); });
  var timer = null;
  $("source").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { commit(false); }, 300); });
  $("region").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { commit(false); }, 400); });
  $("reset").addEventListener("click", function () {
    stop();
    FILTERS.forEach(function (k) { $(k).value = ""; });
    $("hedged").checked = true;
    $("time-on").checked = false;
    showPeriod();
    commit(false);
  });
  legend();
  fetch("/api/years").then(function (r) { return r.json(); }).then(function (y) {
    years = (y.years || []).slice().sort();
    if (years.length) { $("since").placeholder = years[0]; $("until").placeholder = years[years.length - 1]; }
    $("time").value = String(Math.max(0, periods().length - 1));
    var p = new URLSearchParams(window.location.search);
    writeControls(p);
    load(p);
  });
})();
