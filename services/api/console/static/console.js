// Draws every chart of a page (and of content htmx swaps in) from its data-chart option;
// the options are built by the server (services/api/console/charts.py).
(function () {
  "use strict";
  var charts = [];

  function draw(root) {
    if (!root.querySelectorAll || typeof echarts === "undefined") {
      return;
    }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) {
        return;
      }
      el.dataset.drawn = "1";
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(el.dataset.chart));
      charts.push(chart);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    draw(event.target);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.resize();
    });
  });
})();
