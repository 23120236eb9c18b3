// Reports page: pooled availability per local day (uPlot, vendored).
"use strict";
(function () {
  const T = window.Trucban;
  const fig = document.getElementById("daily");
  if (!fig) return;
  async function draw() {
    const data = await T.getJSON(`/api/reports/daily?${fig.dataset.query}`);
    const target = fig.querySelector(".plot");
    const days = (data && data.days) || [];
    if (!days.length) { target.textContent = fig.dataset.nodata; fig.dataset.state = "empty"; return; }
    const xs = days.map((d) => d.ts);
    const ys = days.map((d) => (d.availability == null ? null : 100 * d.availability));
    const opts = {
      width: Math.min(target.clientWidth || 600, 1100), height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Asia/Ho_Chi_Minh"),
      series: [{}, { label: "Khả dụng (%)", stroke: "#0b57d0", width: 2, points: { show: true } }],
      axes: [{}, { label: "%" }],
    };
    new uPlot(opts, [xs, ys], target);
    fig.dataset.state = "drawn";
  }
  draw();
})();
