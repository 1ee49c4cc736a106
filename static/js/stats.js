// 检答 statistics dashboard: charts from data-chart attributes, sortable tables, the period form.
// Served as a file (the Content-Security-Policy forbids inline script); Chart.js is vendored locally.
(function () {
  "use strict";

  var PALETTE = ["#8c1c13", "#0a58ca", "#198754", "#b35c00", "#6f42c1", "#495057"];

  // Charts: each canvas carries its labels, datasets and axes as JSON in data-chart.
  function buildChart(canvas) {
    var spec;
    try { spec = JSON.parse(canvas.getAttribute("data-chart")); } catch (e) { return; }
    var datasets = spec.datasets.map(function (d, i) {
      var color = PALETTE[i % PALETTE.length];
      return {
        label: d.label, data: d.data, type: d.type, yAxisID: d.axis,
        borderColor: color, backgroundColor: d.type === "bar" ? color + "cc" : color,
        borderWidth: 2, pointRadius: 3, spanGaps: true, tension: 0.2,
        order: d.type === "line" ? 0 : 1
      };
    });
    var scales = {};
    Object.keys(spec.axes).forEach(function (id) {
      var a = spec.axes[id];
      scales[id] = {
        position: id === "y" ? "left" : "right", beginAtZero: a.min === 0,
        min: a.min, max: a.max, title: { display: true, text: a.title },
        grid: { drawOnChartArea: id === "y" }, ticks: { precision: id === "y" && a.max === undefined ? 0 : undefined }
      };
    });
    new window.Chart(canvas, {
      type: datasets[0].type, data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: true, aspectRatio: 2, animation: false,
        interaction: { mode: "index", intersect: false }, scales: scales,
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  if (window.Chart) {
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    document.querySelectorAll("canvas[data-chart]").forEach(buildChart);
  }

  // Sortable tables: click a header; numbers compare as numbers, empty cells go last.
  function cellValue(row, index, numeric) {
    var td = row.children[index];
    if (!td) { return null; }
    var raw = td.hasAttribute("data-value") ? td.getAttribute("data-value") : td.textContent.trim();
    if (raw === "") { return null; }
    if (numeric) { var n = parseFloat(raw); return isNaN(n) ? null : n; }
    return raw;
  }

  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, index) {
      th.setAttribute("tabindex", "0");
      function sort() {
        var numeric = th.getAttribute("data-kind") === "number";
        var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
        if (!numeric && !th.hasAttribute("aria-sort")) { dir = "ascending"; }
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          if (x === null && y === null) { return 0; }
          if (x === null) { return 1; }
          if (y === null) { return -1; }
          var c = numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });

  // Period form: the date fields matter only for a custom period.
  var period = document.querySelector("select[data-custom-toggle]");
  if (period) {
    var toggle = function () {
      document.querySelectorAll("[data-custom-range]").forEach(function (el) {
        el.hidden = period.value !== "custom";
      });
    };
    period.addEventListener("change", toggle);
    toggle();
  }
})();
