// Actor corrections on the actor page: merge another actor into this one, split an alias
// off, undo a merge (POST /api/actors/{id}/merge | split-alias | unmerge). Every value
// from the store goes into textContent or attributes only.
(function () {
  "use strict";
  var box = document.getElementById("corrections");
  if (!box) return;
  var actor = box.getAttribute("data-actor");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";
  var status = document.getElementById("correction-status");
  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "X-CSRF-Token": token, "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j && j.detail ? String(j.detail) : "HTTP " + r.status);
        return j;
      });
    });
  }
  function fail(e) { status.textContent = "failed: " + e.message; }
  var base = "/api/actors/" + encodeURIComponent(actor);
  var merge = document.getElementById("merge-form");
  merge.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var other = document.getElementById("merge-other").value.trim();
    if (!other) return;
    post(base + "/merge", { other: other }).then(function (r) {
      status.textContent = "merged " + r.from + " into " + r.into;
      window.location.reload();
    }).catch(fail);
  });
  var split = document.getElementById("split-form");
  if (split) split.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var alias = document.getElementById("split-alias").value;
    post(base + "/split-alias", { alias: alias }).then(function (r) {
      status.textContent = "split " + r.alias + " into " + r.new_id;
      window.location.reload();
    }).catch(fail);
  });
  // merges into this actor, each with its undo
  var list = document.getElementById("merges");
  fetch(base + "/merges").then(function (r) { return r.json(); }).then(function (rows) {
    (rows || []).forEach(function (m) {
      var li = document.createElement("li");
      li.textContent = "merged in: " + m.from + " (" + (m.user || "?") + ", " + m.created_at + ") ";
      var b = document.createElement("button");
      b.type = "button";
      b.className = "unmerge-btn";
      b.setAttribute("data-merge", m.merge);
      b.textContent = "Undo merge";
      b.addEventListener("click", function () {
        post("/api/actors/" + encodeURIComponent(m.merge) + "/unmerge", {}).then(function () {
          window.location.reload();
        }).catch(fail);
      });
      li.appendChild(b);
      list.appendChild(li);
    });
  });
})();
