/* lakeloop ui: draws the charts of a skill page with the vendored uPlot (static/vendor).
 * Each chart is an element `.chart[data-series]` whose attribute holds the page's JSON
 * (pages/skills.py chart_data: versions, rate, low, high, weeks, uses, failures) and whose
 * `data-kind` says which chart: "rate" (failure rate per version with its 95 % interval) or
 * "uses" (uses and failures per week). No inline script: the CSP allows only 'self'. */
"use strict";

(function () {
  var HALF_WEEK = 3.5 * 86400;

  function percent(u, ticks) {
    return ticks.map(function (v) { return Math.round(v * 100) + "%"; });
  }

  function rateOptions(width) {
    return {
      width: width, height: 260,
      // half a version either side: one version alone still gets an axis
      scales: { x: { time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; } }, y: { range: [0, 1] } },
      axes: [
        { label: "version", values: function (u, ticks) {
          return ticks.map(function (t) { return Number.isInteger(t) ? "v" + t : ""; });
        } },
        { label: "failure rate", values: percent }
      ],
      series: [
        { label: "version" },
        { label: "failure rate", stroke: "#b91c1c", width: 2, points: { show: true, size: 8 },
          value: function (u, v) { return v == null ? "-" : Math.round(v * 100) + "%"; } },
        { label: "95 % high", stroke: "#9ca3af", dash: [4, 4],
          value: function (u, v) { return v == null ? "-" : Math.round(v * 100) + "%"; } },
        { label: "95 % low", stroke: "#9ca3af", dash: [4, 4],
          value: function (u, v) { return v == null ? "-" : Math.round(v * 100) + "%"; } }
      ],
      bands: [{ series: [2, 3], fill: "rgba(185, 28, 28, 0.12)" }]
    };
  }

  function usesOptions(width) {
    var bars = uPlot.paths.bars({ size: [0.6, 60] });
    return {
      width: width, height: 260,
      // half a week either side, so the first and the last bar show whole
      scales: { x: { time: true, range: function (u, min, max) { return [min - HALF_WEEK, max + HALF_WEEK]; } } },
      axes: [{ label: "week" }, { label: "uses" }],
      series: [
        { label: "week" },
        { label: "uses", stroke: "#2563eb", fill: "rgba(37, 99, 235, 0.35)", paths: bars, points: { show: false } },
        { label: "failures", stroke: "#b91c1c", fill: "rgba(185, 28, 28, 0.6)", paths: bars, points: { show: false } }
      ]
    };
  }

  function draw(element) {
    var data = JSON.parse(element.getAttribute("data-series"));
    var width = Math.max(320, element.clientWidth || 600);
    if (element.getAttribute("data-kind") === "rate") {
      if (!data.versions.length) { return; }
      new uPlot(rateOptions(width), [data.versions, data.rate, data.high, data.low], element);
    } else {
      if (!data.weeks.length) { return; }
      new uPlot(usesOptions(width), [data.weeks, data.uses, data.failures], element);
    }
  }

  function start() {
    if (typeof uPlot === "undefined") { return; }
    var charts = document.querySelectorAll(".chart[data-series]");
    for (var i = 0; i < charts.length; i++) { draw(charts[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
