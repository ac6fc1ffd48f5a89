// RelayScope dashboard: clickable rows and Chart.js charts fed by the embedded API JSON.
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

  var palette = ["#3b5bdb", "#f08c00", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599",
    "#e8590c", "#5c940d", "#862e9c", "#1098ad", "#868e96"];

  function label(iso, granularity) {
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    var day = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    if (granularity === "day") return day;
    return day + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  var formats = {
    cost: function (v) { return "$" + (v >= 1 ? v.toFixed(2) : v.toPrecision(3)); },
    requests: function (v) { return v.toLocaleString(); },
    latency: function (v) { return v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"; },
    error_rate: function (v) { return v.toFixed(1) + "%"; },
    score: function (v) { return String(Math.round(v * 1000) / 1000); }
  };
  var axisTitles = {
    cost: "USD", requests: "requests", latency: "milliseconds", error_rate: "% of requests",
    score: "average score"
  };

  // One colour per group on every chart of the page, so "chat" looks the same in
  // the cost and the request charts.
  var colours = {};
  function assignColours(kinds) {
    var names = {};
    kinds.forEach(function (kind) {
      var source = document.getElementById("data-" + kind);
      if (!source) return;
      JSON.parse(source.textContent).series.forEach(function (s) { names[s.name] = true; });
    });
    Object.keys(names).sort().forEach(function (name, i) {
      colours[name] = name === "other" ? "#adb5bd" : palette[i % palette.length];
    });
  }

  function draw(canvas) {
    var kind = canvas.getAttribute("data-chart");
    var source = document.getElementById("data-" + kind);
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var stacked = kind === "cost" || kind === "requests";
    var datasets = data.series.map(function (s, i) {
      var color = colours[s.name] || palette[i % palette.length];
      var values = s.values.map(function (v) {
        if (v === null) return null;
        return kind === "error_rate" ? v * 100 : v;
      });
      return {
        label: kind === "error_rate" ? "error rate" : s.name,
        data: values,
        backgroundColor: color,
        borderColor: color,
        borderWidth: stacked ? 0 : 2,
        pointRadius: data.buckets.length > 60 ? 0 : 2,
        spanGaps: true,
        fill: false
      };
    });
    var fmt = formats[kind];
    var chart = new Chart(canvas, {
      type: stacked ? "bar" : "line",
      data: { labels: data.buckets.map(function (b) { return label(b, data.granularity); }), datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: function (ctx) {
            return ctx.dataset.label + ": " + (ctx.parsed.y === null ? "–" : fmt(ctx.parsed.y));
          } } }
        },
        scales: {
          x: { stacked: stacked, title: { display: true, text: "time (UTC, per " + data.granularity + ")" },
               ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
          y: { stacked: stacked, beginAtZero: true, title: { display: true, text: axisTitles[kind] },
               ticks: { callback: function (v) { return fmt(v); } } }
        }
      }
    });
    canvas.relayscopeChart = chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    assignColours(["cost", "requests"]);
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    document.body.setAttribute("data-charts-ready", "1");
  });
})();
