// Ingest page: posts the chosen files and pasted text to /api/ingest and lists the results.
// File names and error messages are untrusted: they only ever go into textContent.
(function () {
  "use strict";
  var form = document.getElementById("ingest-form");
  if (!form) return;
  var el = window.Allegiance.el;
  var filesInput = document.getElementById("ingest-files");
  var textInput = document.getElementById("ingest-text");
  var titleInput = document.getElementById("ingest-title");
  var button = document.getElementById("ingest-submit");
  var progress = document.getElementById("ingest-progress");
  var table = document.getElementById("ingest-results");
  var tbody = table.querySelector("tbody");
  var maxFile = Number(form.getAttribute("data-max-file")) || 0;

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function say(text, state) {
    progress.textContent = text;
    document.body.setAttribute("data-ingest-state", state);
  }

  function showResults(results) {
    tbody.textContent = "";
    results.forEach(function (r) {
      var tr = el("tr", { "class": "status-" + String(r.status) });
      tr.appendChild(el("td", { "class": "name" }, r.name));
      tr.appendChild(el("td", { "class": "status" }, r.status));
      tr.appendChild(el("td", { "class": "error" }, r.error || ""));
      tr.appendChild(el("td", {}, r.status === "failed" ? "" : r.facts_added));
      tr.appendChild(el("td", {}, r.status === "failed" ? "" : r.actors_added));
      var td = el("td");
      if (r.document_id) {
        td.appendChild(el("a", { "class": "doc-link", href: "/documents/" + encodeURIComponent(r.document_id) }, "open"));
      }
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
    table.hidden = results.length === 0;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var data = new FormData();
    var files = Array.prototype.slice.call(filesInput.files || []);
    var text = textInput.value;
    var count = files.length + (text.trim() ? 1 : 0);
    if (count === 0) {
      say("Choose files or paste an article first.", "error");
      return;
    }
    var big = files.filter(function (f) { return maxFile && f.size > maxFile; });
    if (big.length) {
      say(big[0].name + " is larger than the " + (maxFile / 1048576).toFixed(1) + " MB limit per file.", "error");
      return;
    }
    files.forEach(function (f) { data.append("files", f, f.name); });
    if (text.trim()) {
      data.append("text", text);
      data.append("title", titleInput.value);
    }
    button.disabled = true;
    say("uploading " + plural(count, "file") + "\u2026", "uploading");
    fetch("/api/ingest", { method: "POST", body: data, headers: window.Allegiance.writeHeaders() })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
      })
      .then(function (res) {
        if (!res.ok || !Array.isArray(res.body)) {
          var detail = res.body && res.body.detail;
          if (typeof detail !== "string") detail = detail ? JSON.stringify(detail) : "HTTP " + res.status;
          say("Upload refused: " + detail, "error");
          return;
        }
        var stored = res.body.filter(function (r) { return r.status !== "failed"; }).length;
        say("stored " + stored + " of " + res.body.length, "done");
        showResults(res.body);
      })
      .catch(function (err) { say("Upload failed: " + err, "error"); })
      .then(function () { button.disabled = false; });
  });
})();
