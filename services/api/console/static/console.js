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

  // a button with data-copy="#id" copies that element's text (the API key shown once)
  function copy(event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) {
      return;
    }
    var source = document.querySelector(button.dataset.copy);
    if (!source) {
      return;
    }
    var text = source.textContent.trim();
    var done = function () {
      button.dataset.copied = "1";
      button.textContent = button.dataset.copiedLabel || button.textContent;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    if (document.execCommand("copy")) {
      done();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
  });
  document.addEventListener("click", copy);
  document.addEventListener("htmx:afterSwap", function (event) {
    draw(event.target);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.resize();
    });
  });
})();
