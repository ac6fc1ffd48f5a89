// The explorer: remembers the chosen columns, and adds new requests at the top of
// the table as the live tail (Server-Sent Events) sends them.
(function () {
  "use strict";

  var COLUMNS_KEY = "relayscope.explorer.columns";

  // The URL's col parameters are the choice; the browser keeps the last one so the
  // explorer opened from the menu (no col) shows it too.
  function rememberColumns() {
    var form = document.getElementById("columns-form");
    if (!form) return false;
    var params = new URLSearchParams(window.location.search);
    var chosen = params.getAll("col");
    if (chosen.length) {
      localStorage.setItem(COLUMNS_KEY, JSON.stringify(chosen));
      return false;
    }
    var saved;
    try { saved = JSON.parse(localStorage.getItem(COLUMNS_KEY) || "null"); } catch (e) { saved = null; }
    if (!Array.isArray(saved) || !saved.length) return false;
    if (saved.join(" ") === form.getAttribute("data-default")) return false;
    saved.forEach(function (key) { params.append("col", String(key)); });
    window.location.replace(window.location.pathname + "?" + params.toString());
    return true;
  }

  function formatCount(n) {
    return n.toLocaleString("en-US") + (n === 1 ? " request" : " requests");
  }

  function liveTail() {
    var table = document.getElementById("requests-table");
    var toggle = document.getElementById("live-toggle");
    var state = document.getElementById("live-state");
    if (!table || !toggle || !table.getAttribute("data-live") || !window.EventSource) return;
    var url = new URL(table.getAttribute("data-live"), window.location.href);
    var since = url.searchParams.get("since");
    var body = table.tBodies[0];
    var total = document.getElementById("total");
    var source = null;

    function added(event) {
      var data = JSON.parse(event.data);
      since = event.lastEventId || since;
      body.insertAdjacentHTML("afterbegin", data.html);
      table.hidden = false;
      var none = document.querySelector("p.none");
      if (none) none.hidden = true;
      for (var i = 0; i < data.rows && i < body.rows.length; i++) body.rows[i].classList.add("fresh");
      if (window.RelayScope) window.RelayScope.refreshTimes();
      if (total && total.getAttribute("data-estimated") === "0") {
        var n = parseInt(total.getAttribute("data-total"), 10) + data.rows;
        total.setAttribute("data-total", String(n));
        total.textContent = formatCount(n);
      }
      table.setAttribute("data-live-rows", String(parseInt(table.getAttribute("data-live-rows") || "0", 10) + data.rows));
    }
    function start() {
      if (since) url.searchParams.set("since", since); else url.searchParams.delete("since");
      source = new EventSource(url.toString());
      source.addEventListener("rows", added);
      source.addEventListener("open", function () { state.textContent = "Live: new requests appear at the top."; });
      source.addEventListener("error", function () { state.textContent = "Live updates reconnecting…"; });
      toggle.textContent = "Pause live updates";
      toggle.setAttribute("aria-pressed", "true");
    }
    function stop() {
      if (source) source.close();
      source = null;
      state.textContent = "Live updates paused.";
      toggle.textContent = "Resume live updates";
      toggle.setAttribute("aria-pressed", "false");
    }
    toggle.hidden = false;
    toggle.addEventListener("click", function () { if (source) stop(); else start(); });
    start();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (rememberColumns()) return;
    liveTail();
  });
})();
