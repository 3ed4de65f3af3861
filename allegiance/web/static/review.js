// Review queue keyboard shortcuts: j / k move, c confirms, r rejects, o opens the evidence.
// The buttons are the page's ordinary review buttons (app.js posts them with the CSRF
// token); this only moves a selection and clicks them. Store text is never touched here.
(function () {
  "use strict";
  var list = document.getElementById("review-queue");
  if (!list) return;
  var items = Array.prototype.slice.call(list.querySelectorAll("li.fact"));
  var at = -1;
  function select(i) {
    if (!items.length) return;
    i = Math.max(0, Math.min(items.length - 1, i));
    if (at >= 0 && items[at]) items[at].classList.remove("current");
    at = i;
    items[at].classList.add("current");
    items[at].setAttribute("aria-current", "true");
    items[at].focus({ preventScroll: true });
    items[at].scrollIntoView({ block: "nearest" });
  }
  function act(action) {
    if (at < 0) return;
    var btn = items[at].querySelector('.review-btn[data-action="' + action + '"]');
    if (!btn) return;
    var status = items[at].querySelector(".review-status");
    btn.click();
    // move on once the server has answered (app.js writes the outcome in .review-status)
    var item = items[at], tries = 0;
    var timer = setInterval(function () {
      tries += 1;
      if ((status && status.textContent) || tries > 50) {
        clearInterval(timer);
        item.classList.add("reviewed");
        if (items[at] === item) select(at + 1);
      }
    }, 40);
  }
  list.addEventListener("click", function (ev) {
    var li = ev.target.closest ? ev.target.closest("li.fact") : null;
    if (li) select(items.indexOf(li));
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;  // typing in the search box
    var k = ev.key;
    if (k === "j") { select(at + 1); ev.preventDefault(); }
    else if (k === "k") { select(at < 0 ? 0 : at - 1); ev.preventDefault(); }
    else if (k === "c") { act("confirm"); ev.preventDefault(); }
    else if (k === "r") { act("reject"); ev.preventDefault(); }
    else if (k === "o" && at >= 0) {
      var link = items[at].querySelector(".evidence-link");
      if (link) window.location.href = link.getAttribute("href");
    }
  });
  if (items.length) select(0);
})();
