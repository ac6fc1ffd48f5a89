// RelayScope dashboard: clickable rows, copy buttons and relative times (the analytics
// charts are static/analytics.js).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    if (event.target.closest("a, button, input, select")) return;
    var row = event.target.closest("tr[data-href]");
    if (row) window.location.href = row.getAttribute("data-href");
  });

  // Copy buttons: data-copy names the element whose text goes to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();  // inside a <summary>, a click would also toggle it
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    }, function () {
      button.textContent = "Copy failed";
    });
  });

  // Times in lists read as "5 min ago"; the exact UTC time stays in the title.
  function relative(iso, now) {
    var seconds = Math.round((now - Date.parse(iso)) / 1000);
    if (isNaN(seconds)) return null;
    if (seconds < 0) return "in the future";
    if (seconds < 45) return "just now";
    var steps = [[3600, 60, "min"], [86400, 3600, "h"], [86400 * 30, 86400, "d"]];
    for (var i = 0; i < steps.length; i++) {
      if (seconds < steps[i][0]) return Math.round(seconds / steps[i][1]) + " " + steps[i][2] + " ago";
    }
    return null;  // a month or older: the date itself says more
  }
  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("time[datetime][data-relative]").forEach(function (el) {
      var text = relative(el.getAttribute("datetime"), now);
      el.textContent = text || el.getAttribute("title");
    });
  }
  document.addEventListener("DOMContentLoaded", refreshTimes);
  setInterval(refreshTimes, 30000);
  window.RelayScope = { refreshTimes: refreshTimes };  // for rows added later (explorer.js)

  // A running experiment's page follows its progress: it reloads until the run ends.
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("#experiment-status[data-status=running]")) {
      setTimeout(function () { window.location.reload(); }, 2000);
    }
  });
})();
