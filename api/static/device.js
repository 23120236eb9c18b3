// Device charts (uPlot, vendored): RTT, utilisation, errors, battery with projected runtime.
"use strict";
(function () {
  const T = window.Trucban;
  const box = document.getElementById("charts");
  const device = box.dataset.device;
  const COLORS = ["#0b57d0", "#c62828", "#1a7f37", "#b7791f", "#6a1b9a", "#00838f", "#5d4037", "#455a64"];
  let range = "1h";
  const plots = {};
  function toColumns(lines) {
    const times = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const cols = lines.map((l) => { const c = new Array(times.length).fill(null); for (const [t, v] of l.points) c[index.get(t)] = v; return c; });
    return [times, ...cols];
  }
  async function draw(fig) {
    const metric = fig.dataset.metric;
    const data = await T.getJSON(`/api/devices/${encodeURIComponent(device)}/series?metric=${metric}&range=${range}`);
    if (!data) return;
    const target = fig.querySelector(".plot");
    if (plots[metric]) { plots[metric].destroy(); delete plots[metric]; }
    target.textContent = "";
    const proj = fig.querySelector(".proj");
    proj.textContent = data.projected_minutes != null ? `· ${box.dataset.projected}: ${T.num(data.projected_minutes)} ${box.dataset.min}` : "";
    const lines = data.lines.filter((l) => l.points.length);
    if (!lines.length) { target.textContent = box.dataset.nodata; fig.dataset.state = "empty"; return; }
    const opts = {
      width: Math.min(target.clientWidth || 600, 1100), height: 200, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Asia/Ho_Chi_Minh"),
      series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
      axes: [{}, { label: data.unit }],
    };
    plots[metric] = new uPlot(opts, toColumns(lines), target);
    fig.dataset.state = "drawn";
  }
  function all() { return Promise.all([...box.querySelectorAll("figure.chart")].map(draw)); }
  document.getElementById("ranges").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-range]");
    if (!b) return;
    range = b.dataset.range;
    for (const x of document.querySelectorAll("#ranges button")) x.classList.toggle("on", x === b);
    all();
  });
  all().catch(() => { /* the stale banner says when the server is out of reach */ });
  T.live.onChange(all);  // a new poll cycle or state: redraw
})();
