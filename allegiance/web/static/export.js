// Export links carry the page's current filters: on the network page the year range and
// the hedged box (the filters `allegiance export` has: --since, --until, --no-hedged), on
// an actor page the actor. Read at click time, so they follow every change.
(function () {
  "use strict";
  var nav = document.getElementById("export-links");
  if (!nav) return;
  function val(id) { var e = document.getElementById(id); return e ? String(e.value || "").trim() : ""; }
  nav.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a.export-link") : null;
    if (!a) return;
    var p = new URLSearchParams();
    var actor = nav.getAttribute("data-actor");
    if (actor) p.append("actor", actor);
    var since = val("since"), until = val("until");
    if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(since)) p.set("since", since);
    if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(until)) p.set("until", until);
    var hedged = document.getElementById("hedged");
    if (hedged && !hedged.checked) p.set("include_hedged", "false");
    var q = p.toString();
    a.setAttribute("href", "/api/export/" + encodeURIComponent(a.getAttribute("data-format")) + (q ? "?" + q : ""));
  });
})();
