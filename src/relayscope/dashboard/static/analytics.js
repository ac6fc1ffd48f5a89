// RelayScope analytics: Chart.js charts fed by the JSON each panel embeds (the same
// document GET /api/analytics/timeseries returns). Buckets the range covers only in
// part are hatched (bars) or dashed (lines); a click on a point opens the explorer on
// that bucket's time and that series' group.
(function () {
  "use strict";

  var palette = ["#3b5bdb", "#f08c00", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599",
    "#e8590c", "#5c940d", "#862e9c", "#1098ad", "#d6336c", "#495057",
    "#1971c2", "#e67700", "#087f5b", "#a61e4d", "#5f3dc4", "#0b7285",
    "#d9480f", "#2f9e44"];
  var OTHER = "#adb5bd";

  var usd = function (v) { return "$" + (v >= 1 ? v.toFixed(2) : v.toPrecision(3)); };
  var count = function (v) { return v.toLocaleString(); };
  var ms = function (v) { return v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"; };
  var percent = function (v) { return v.toFixed(1) + "%"; };
  var kinds = {
    cost: { format: usd, axis: "USD", stacked: true },
    requests: { format: count, axis: "requests", stacked: true },
    tokens: { format: count, axis: "tokens", stacked: true },
    cost_saved: { format: usd, axis: "USD saved", stacked: true },
    cache_hit_rate: { format: percent, axis: "% of requests", percent: true },
    latency: { format: ms, axis: "milliseconds" },
    latency_group: { format: ms, axis: "milliseconds" },
    ttft: { format: ms, axis: "milliseconds" },
    error_rate: { format: percent, axis: "% of requests", percent: true },
    score: { format: function (v) { return String(Math.round(v * 1000) / 1000); }, axis: "average score" }
  };

  function label(iso, granularity) {
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    var day = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    if (granularity === "day") return day;
    return day + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function panelData(kind) {
    var source = document.getElementById("data-" + kind);
    return source ? JSON.parse(source.textContent) : null;
  }

  // A series' colour key: its group, so one model has one colour on every chart of
  // the page; "other" is grey.
  function colourKey(s) {
    if (s.filter === null) return "other";
    return s.group !== null && s.group !== undefined ? "group:" + s.group : "name:" + s.name;
  }
  var colours = {};
  function assignColours() {
    var keys = {};
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = panelData(canvas.getAttribute("data-chart"));
      if (data) data.series.forEach(function (s) { keys[colourKey(s)] = true; });
    });
    Object.keys(keys).sort().forEach(function (key, i) {
      colours[key] = key === "other" ? OTHER : palette[i % palette.length];
    });
  }

  // Diagonal stripes of the series' colour: a partial bucket's bar.
  function hatch(colour) {
    var tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = colour + "40";
    ctx.fillRect(0, 0, 8, 8);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(0, 8); ctx.lineTo(8, 0);
    ctx.moveTo(-2, 2); ctx.lineTo(2, -2);
    ctx.moveTo(6, 10); ctx.lineTo(10, 6);
    ctx.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function explorerUrl(data, s, index) {
    if (s.filter === null) return null;  // "other": no one filter selects it
    var query = new URLSearchParams(document.getElementById("charts").getAttribute("data-explore") || "");
    Object.keys(s.filter).forEach(function (k) { query.set(k, s.filter[k]); });
    query.set("from", data.spans[index][0]);
    query.set("to", data.spans[index][1]);
    return "/dashboard/requests?" + query.toString();
  }

  function draw(canvas) {
    var kind = canvas.getAttribute("data-chart");
    var data = panelData(kind);
    var spec = kinds[kind] || kinds.requests;
    if (!data || typeof Chart === "undefined") return;
    var partial = data.partial || [];
    var dashed = function (ctx) {
      return partial[ctx.p0DataIndex] || partial[ctx.p1DataIndex] ? [6, 4] : undefined;
    };
    var datasets = data.series.map(function (s, i) {
      var colour = colours[colourKey(s)] || palette[i % palette.length];
      var values = s.values.map(function (v) {
        if (v === null) return null;
        return spec.percent ? v * 100 : v;
      });
      var pattern = spec.stacked ? hatch(colour) : null;
      return {
        label: spec.percent && data.series.length === 1 ? kind.replace(/_/g, " ") : s.name,
        data: values,
        backgroundColor: spec.stacked
          ? partial.map(function (p) { return p ? pattern : colour; })
          : colour,
        borderColor: colour,
        borderWidth: spec.stacked ? 0 : 2,
        pointRadius: data.buckets.length > 60 ? 0 : 2,
        pointBackgroundColor: partial.map(function (p) { return p ? "#fff" : colour; }),
        segment: spec.stacked ? undefined : { borderDash: dashed },
        spanGaps: true,
        fill: false
      };
    });
    var labels = data.buckets.map(function (b) { return label(b, data.granularity); });
    var chart = new Chart(canvas, {
      type: spec.stacked ? "bar" : "line",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        onClick: function (event, _active, chart) {
          var hit = chart.getElementsAtEventForMode(event, "nearest", { intersect: spec.stacked }, true)[0];
          if (!hit) return;
          var url = explorerUrl(data, data.series[hit.datasetIndex], hit.index);
          if (url) window.location.href = url;
        },
        onHover: function (event, _active, chart) {
          var hit = chart.getElementsAtEventForMode(event, "nearest", { intersect: spec.stacked }, true)[0];
          var clickable = hit && data.series[hit.datasetIndex].filter !== null;
          event.native.target.style.cursor = clickable ? "pointer" : "default";
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: {
            title: function (items) {
              var i = items[0].dataIndex;
              var title = labels[i];
              if (partial[i]) {
                title += " (partial: " + label(data.spans[i][0], "minute").slice(11) + "–" +
                  label(data.spans[i][1], "minute").slice(11) + ")";
              }
              return title;
            },
            label: function (ctx) {
              return ctx.dataset.label + ": " + (ctx.parsed.y === null ? "–" : spec.format(ctx.parsed.y));
            }
          } }
        },
        scales: {
          x: { stacked: !!spec.stacked, title: { display: true, text: "time (UTC, per " + data.granularity + ")" },
               ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
          y: { stacked: !!spec.stacked, beginAtZero: true, title: { display: true, text: spec.axis },
               ticks: { callback: function (v) { return spec.format(v); } } }
        }
      }
    });
    canvas.relayscopeChart = chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    assignColours();
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    document.body.setAttribute("data-charts-ready", "1");
  });
})();
