// Shared page behaviour: actor search, review buttons, evidence highlighting.
// Data from the store is untrusted: it only ever goes into textContent / attributes.
(function () {
  "use strict";
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // Writes must carry the server's CSRF token (from the page's <meta>); the server refuses
  // POSTs without it and from other origins.
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = tokenMeta ? tokenMeta.getAttribute("content") : "";
  function writeHeaders(extra) {
    var h = { "X-CSRF-Token": csrfToken };
    Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }
  window.Allegiance = { el: el, writeHeaders: writeHeaders };

  // -- search: /api/search, one hit opens the actor page, several are listed
  var form = document.getElementById("search");
  if (form) {
    var input = document.getElementById("search-q");
    var list = document.getElementById("search-results");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = input.value.trim();
      if (!q) return;
      fetch("/api/search?q=" + encodeURIComponent(q)).then(function (r) { return r.json(); }).then(function (hits) {
        list.textContent = "";
        if (!Array.isArray(hits) || hits.length === 0) {
          list.appendChild(el("li", {}, "No actor matches " + q));
          list.hidden = false;
          return;
        }
        var exact = hits.filter(function (h) { return h.match === "id" || h.match === "alias" || h.match === "gazetteer"; });
        if (exact.length >= 1) {
          window.location.href = "/actors/" + encodeURIComponent(exact[0].id);
          return;
        }
        hits.slice(0, 10).forEach(function (h) {
          var li = el("li");
          var a = el("a", { href: "/actors/" + encodeURIComponent(h.id) }, h.name);
          li.appendChild(a);
          li.appendChild(el("span", { "class": "muted" }, " " + h.type + " · " + h.match + " " + (h.matched || "")));
          list.appendChild(li);
        });
        list.hidden = false;
      });
    });
    document.addEventListener("click", function (ev) { if (!form.contains(ev.target)) list.hidden = true; });
  }

  // -- review buttons
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest(".review-btn") : null;
    if (!btn) return;
    var fid = btn.getAttribute("data-fact");
    var action = btn.getAttribute("data-action");
    var status = btn.parentNode.querySelector(".review-status");
    fetch("/api/facts/" + encodeURIComponent(fid) + "/review", {
      method: "POST",
      headers: writeHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ action: action })  // the server names the reviewer (serve --reviewer)
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function () {
      if (status) status.textContent = action + "ed";
      var item = btn.closest(".fact");
      if (item) item.classList.toggle("rejected", action === "reject");
    }).catch(function (e) { if (status) status.textContent = "failed: " + e.message; });
  });

  // -- Correct…: an inline form for the fact's subject, relation and object (each optional)
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest(".correct-btn") : null;
    if (!btn) return;
    var box = btn.parentNode;
    if (box.querySelector(".correct-form")) return;
    var fid = btn.getAttribute("data-fact");
    var f = el("form", { "class": "correct-form" });
    [["subject", "subject (actor name or id)"], ["relation", "relation, e.g. rival_of"],
     ["object", "object (actor name or id)"]].forEach(function (p) {
      f.appendChild(el("input", { type: "text", name: p[0], placeholder: p[1], maxlength: "500" }));
    });
    f.appendChild(el("button", { type: "submit" }, "Save correction"));
    box.appendChild(f);
    f.addEventListener("submit", function (e2) {
      e2.preventDefault();
      var body = { action: "correct" };
      ["subject", "relation", "object"].forEach(function (k) {
        var v = f.elements[k].value.trim();
        if (v) body[k] = v;
      });
      var status = box.querySelector(".review-status");
      fetch("/api/facts/" + encodeURIComponent(fid) + "/review", {
        method: "POST", headers: writeHeaders({ "Content-Type": "application/json" }), body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (j) { if (!r.ok) throw new Error(j && j.detail ? String(j.detail) : "HTTP " + r.status); return j; });
      }).then(function () {
        if (status) status.textContent = "corrected";
        window.location.reload();
      }).catch(function (e) { if (status) status.textContent = "failed: " + e.message; });
    });
  });

  // -- document page: highlight one fact's evidence (?fact=ID or a click)
  var docText = document.getElementById("doc-text");
  function highlight(fid, scroll) {
    if (!docText || !/^[A-Za-z0-9_-]+$/.test(fid || "")) return;
    document.querySelectorAll(".selected").forEach(function (n) { n.classList.remove("selected"); });
    var parts = docText.querySelectorAll(".ev-" + fid);
    parts.forEach(function (n) { n.classList.add("selected"); });
    var item = document.getElementById("fact-" + fid);
    if (item) item.classList.add("selected");
    if (scroll && parts.length) parts[0].scrollIntoView({ block: "center" });
  }
  if (docText) {
    var params = new URLSearchParams(window.location.search);
    if (params.get("fact")) highlight(params.get("fact"), true);
    document.querySelectorAll(".show-ev").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        var fid = a.getAttribute("data-fact");
        history.replaceState(null, "", "?fact=" + encodeURIComponent(fid));
        highlight(fid, true);
      });
    });
  }
})();
