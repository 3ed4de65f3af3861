// Incident page: analysts' merge and split (POST with the CSRF token, like the reviews).
// Nothing from the store is put in the page as HTML: results go into textContent.
(function () {
  "use strict";
  var A = window.Allegiance;
  var root = document.getElementById("incident");
  if (!root) return;
  var id = root.getAttribute("data-incident");
  var status = document.getElementById("edit-status");
  var note = document.getElementById("edit-note");
  function say(text) { if (status) status.textContent = text; }
  function post(path, body) {
    body.note = note && note.value.trim() ? note.value.trim() : null;
    body.user = "web";  // the reviewer name the review buttons send
    return fetch("/api/incidents/" + encodeURIComponent(id) + "/" + path, {
      method: "POST",
      headers: A.writeHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(typeof j.detail === "string" ? j.detail : "HTTP " + r.status);
        return j;
      });
    });
  }
  function go(inc) { window.location.href = "/incidents/" + encodeURIComponent(inc.incident_id); }
  document.querySelectorAll(".split-btn").forEach(function (btn) {
    btn.addEventListener("click", function () {
      btn.disabled = true;
      say("splitting…");
      post("split", { doc_id: btn.getAttribute("data-doc") }).then(function (res) {
        say("split: " + res.split.incident_id);
        go(res.incident);
      }).catch(function (e) { btn.disabled = false; say("failed: " + e.message); });
    });
  });
  var merge = document.getElementById("merge-btn");
  if (merge) {
    merge.addEventListener("click", function () {
      var other = document.getElementById("merge-with").value.trim();
      if (!other) { say("give the other incident's id"); return; }
      say("merging…");
      post("merge", { incidents: [other] }).then(function (res) {
        say("merged");
        go(res.incident);
      }).catch(function (e) { say("failed: " + e.message); });
    });
  }
})();
