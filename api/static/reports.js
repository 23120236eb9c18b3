// Reports page: pooled availability per local day (uPlot through charts.js: 0–100 % axis, Vietnamese dates,
// the x axis spanning the report's period).
"use strict";
(function () {
  const T = window.Trucban, C = window.TrucbanCharts;
  const fig = document.getElementById("daily");
  if (!fig) return;
  async function draw() {
    const data = await T.getJSON(`/api/reports/daily?${fig.dataset.query}`);
    const target = fig.querySelector(".plot");
    const days = (data && data.days) || [];
    if (!days.length) { target.textContent = fig.dataset.nodata; fig.dataset.state = "empty"; return; }
    const xs = days.map((d) => d.ts);
    const ys = days.map((d) => (d.availability == null ? null : 100 * d.availability));
    const opts = C.options([{ label: "Khả dụng", axis: "%" }], {
      width: Math.min(target.clientWidth || 600, 1100), height: 220,
      start: Math.min(data.start, xs[0]) - 43200, end: Math.max(data.end, xs[xs.length - 1]) + 43200,
    });
    opts.series[1].points = { show: true, size: 7 };
    opts.series[1].width = 2;
    new uPlot(opts, [xs, ys], target);
    fig.dataset.state = "drawn";
  }
  draw();
})();
