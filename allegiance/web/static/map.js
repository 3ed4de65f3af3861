// Map page: offline country shapes (world-atlas TopoJSON) and markers from /api/places.
(function () {
  "use strict";
  var el = window.Allegiance.el;
  var map = L.map("map", { worldCopyJump: true, attributionControl: true }).setView([28, 15], 3);
  map.attributionControl.setPrefix("Leaflet");
  fetch("/static/vendor/world-atlas/countries-110m.json").then(function (r) { return r.json(); }).then(function (topo) {
    var geo = topojson.feature(topo, topo.objects.countries);
    L.geoJSON(geo, { style: { color: "#8a9a9a", weight: 0.7, fillColor: "#eef0e8", fillOpacity: 1 } }).addTo(map).bringToBack();
    map.attributionControl.addAttribution("Natural Earth via world-atlas");
  });
  var panel = document.getElementById("place-panel");
  function show(place) {
    panel.textContent = "";
    var h = el("h2");
    h.appendChild(el("a", { href: "/actors/" + encodeURIComponent(place.id) }, place.name));
    panel.appendChild(h);
    panel.appendChild(el("p", { "class": "muted" }, (place.kind || "place") + " · " + place.facts.length + " facts"));
    var ol = el("ol", { "class": "place-facts" });
    place.facts.forEach(function (f) {
      var li = el("li", { "class": f.hedged ? "fact hedged" : "fact" });
      li.appendChild(el("a", { href: "/actors/" + encodeURIComponent(f.subject_id) }, f.subject));
      li.appendChild(el("span", { "class": "rel rel-" + f.relation }, " " + f.relation.replace(/_/g, " ") + " "));
      li.appendChild(el("span", {}, place.name));
      li.appendChild(el("div", { "class": "prov" }, (f.date || "undated") + (f.hedged ? " · hedged" : "")));
      li.appendChild(el("blockquote", { "class": "evidence" }, f.evidence));
      if (f.document_id) {
        li.appendChild(el("a", { href: "/documents/" + encodeURIComponent(f.document_id) + "?fact=" + encodeURIComponent(f.id) }, "source: " + f.doc_id));
      }
      ol.appendChild(li);
    });
    panel.appendChild(ol);
  }
  fetch("/api/places").then(function (r) { return r.json(); }).then(function (places) {
    var n = 0;
    places.forEach(function (p) {
      if (p.lat === null || p.lon === null || p.lat === undefined) return;
      n++;
      var m = L.circleMarker([p.lat, p.lon], {
        radius: 5 + 3 * Math.sqrt(p.facts.length), color: "#7b241c", weight: 1.5, fillColor: "#e74c3c", fillOpacity: 0.75
      }).addTo(map);
      // a string tooltip would be set as innerHTML: pass a text node instead
      m.bindTooltip(el("span", {}, p.name + " (" + p.facts.length + ")"));
      m.on("click", function () { show(p); });
    });
    document.body.setAttribute("data-markers", String(n));
  });

  // incidents: one square per place, listing its incidents with links to their pages (one
  // attack counted once however many reports tell it)
  function showIncidents(place, list) {
    panel.textContent = "";
    panel.appendChild(el("h2", {}, place));
    panel.appendChild(el("p", { "class": "muted" }, list.length + (list.length === 1 ? " incident" : " incidents")));
    var ol = el("ol", { "class": "place-incidents" });
    list.forEach(function (i) {
      var li = el("li", { "class": i.disputed ? "incident-item disputed" : "incident-item" });
      var when = (i.date || "undated") + (i.date_max && i.date_max !== i.date ? " / " + i.date_max : "");
      li.appendChild(el("a", { "class": "incident-link", href: "/incidents/" + encodeURIComponent(i.incident_id) }, when));
      var who = i.attackers.map(function (a) { return a.name; }).join(", ") || "attacker not named";
      var k = i.killed.min === null ? "toll not stated" : "killed " + (i.killed.min === i.killed.max ? i.killed.min : i.killed.min + "-" + i.killed.max);
      li.appendChild(el("div", { "class": "prov" }, who + " · " + k + " · " + i.sources + (i.sources === 1 ? " report" : " reports")));
      if (i.disputed) li.appendChild(el("span", { "class": "badge disputed-badge" }, "disputed: " + i.disputes.join(", ")));
      ol.appendChild(li);
    });
    panel.appendChild(ol);
  }
  fetch("/api/incidents").then(function (r) { return r.json(); }).then(function (incidents) {
    var byPlace = {};
    incidents.forEach(function (i) {
      if (i.lat === null || i.lon === null || i.lat === undefined) return;
      var key = i.place_id || (i.lat + "," + i.lon);
      (byPlace[key] = byPlace[key] || { name: i.place || "place", lat: i.lat, lon: i.lon, list: [] }).list.push(i);
    });
    var n = 0;
    Object.keys(byPlace).sort().forEach(function (key) {
      var p = byPlace[key];
      n++;
      // a square beside the place's circle (up and to the right), not on it: both stay
      // clickable at a town with facts and incidents
      var size = Math.round(10 + 3 * Math.sqrt(p.list.length));
      var m = L.marker([p.lat, p.lon], {
        icon: L.divIcon({ className: "incident-marker", iconSize: [size, size], iconAnchor: [-5, size + 5] }),
        keyboard: true, title: ""
      }).addTo(map);
      m.bindTooltip(el("span", {}, p.name + ": " + p.list.length + (p.list.length === 1 ? " incident" : " incidents")));
      m.on("click", function () { showIncidents(p.name, p.list); });
    });
    document.body.setAttribute("data-incident-markers", String(n));
  });
})();
