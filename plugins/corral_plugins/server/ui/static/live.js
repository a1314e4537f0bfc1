// The live view of a run: follows the run's server-sent events and, at most every
// REFRESH_MS, swaps in the run's view freshly rendered by the server. When the run
// ends (the stream's "end" event) the finished view replaces the live one, without a
// reload. Without JavaScript the page has a Refresh link instead.
(function () {
  "use strict";
  var REFRESH_MS = 700;
  var box = document.getElementById("run");
  if (!box || !box.dataset.live || !window.EventSource) { return; }
  var run = box.dataset.run;
  var said = document.getElementById("live-status");  // a screen reader hears status changes
  var pending = false, timer = null, last = 0, ended = false, asked = 0, shown = 0, source;
  document.documentElement.classList.add("js");

  function refresh() {
    pending = false;
    timer = null;
    if (busy()) { soon(); return; }  // someone is typing in the view's form: later
    last = Date.now();
    var mine = ++asked;  // answers can come back out of order: only a newer one is shown
    fetch("/runs/" + encodeURIComponent(run) + "/view", {credentials: "same-origin"})
      .then(function (answer) {
        if (answer.redirected || !answer.ok) { return null; }  // logged out: leave the page be
        return answer.text();
      })
      .then(function (html) {
        if (html === null || mine < shown) { return; }
        if (ended && mine < asked) { return; }  // the finished view's own answer is coming
        if (busy()) { soon(); return; }
        shown = mine;
        var before = status();
        box.innerHTML = html;
        if (ended) { box.removeAttribute("data-live"); }
        if (status() !== before && said) { said.textContent = "The run is " + status() + "."; }
      })
      .catch(function () { /* a failed refresh: the next event tries again */ });
  }

  // Whether focus is on a field or button of the view (swapping it would drop what is typed).
  function busy() {
    var active = document.activeElement;
    return active && active !== box && box.contains(active) &&
      /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(active.tagName);
  }

  function status() {
    var badge = box.querySelector("[data-status]");
    return badge ? badge.getAttribute("data-status") : "";
  }

  function soon() {
    if (pending) { return; }
    pending = true;
    timer = window.setTimeout(refresh, Math.max(0, REFRESH_MS - (Date.now() - last)));
  }

  source = new EventSource("/runs/" + encodeURIComponent(run) + "/events");
  source.onmessage = soon;
  ["task_start", "handler_start", "task_result", "item_result", "play_start", "play_end",
   "recap", "rollback_start", "rollback_end", "control", "run_start", "run_end"]
    .forEach(function (name) { source.addEventListener(name, soon); });
  source.addEventListener("end", function () {
    ended = true;
    source.close();
    if (timer !== null) { window.clearTimeout(timer); }  // no live refresh after the end
    pending = false;
    refresh();
  });
  source.onerror = function () {
    // The stream broke (server restart, network): refresh now; EventSource reconnects.
    if (!ended) { soon(); }
  };
})();
