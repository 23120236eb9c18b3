// Device charts (uPlot, vendored, through charts.js): RTT with timeouts as gaps, utilisation and battery
// on 0–100 % axes, the battery's minutes on an axis of their own, the device's incidents and maintenance
// windows as bands; preset ranges or a custom one (Vietnamese clock).
"use strict";
(function () {
  const T = window.Trucban, C = window.TrucbanCharts;
  const box = document.getElementById("charts");
  const device = box.dataset.device;
  let range = "1h", custom = null;
  const plots = {};
  function query() {
    return custom ? `start=${custom[0]}&end=${custom[1]}` : `range=${range}`;
  }
  function legendOf(data) {
    const parts = [];
    const inc = data.bands.filter((b) => b.kind === "incident"), mw = data.bands.filter((b) => b.kind === "maintenance");
    if (inc.length) parts.push(`<span class="inc">${box.dataset.incidents}: ${inc.length}</span>`);
    if (mw.length) parts.push(`<span class="mw">${box.dataset.maintenance}: ${mw.length}</span>`);
    if (data.gaps) parts.push(`<span class="gap">${box.dataset.gaps.replace("{n}", data.gaps)}</span>`);
    return parts.join(" ");
  }
  async function draw(fig) {
    const metric = fig.dataset.metric;
    const data = await T.getJSON(`/api/devices/${encodeURIComponent(device)}/series?metric=${metric}&${query()}`);
    if (!data) return;
    const target = fig.querySelector(".plot");
    if (plots[metric]) { plots[metric].destroy(); delete plots[metric]; }
    target.textContent = "";
    const proj = fig.querySelector(".proj");
    proj.textContent = data.projected_minutes != null ? `· ${box.dataset.projected}: ${T.num(data.projected_minutes)} ${box.dataset.min}` : "";
    const legend = fig.querySelector(".bands-legend");
    if (legend) legend.innerHTML = legendOf(data);
    const lines = data.lines.filter((l) => l.points.length);
    fig.dataset.gaps = String(data.gaps || 0);
    fig.dataset.bands = String(data.bands.length);
    if (!lines.length) { target.textContent = box.dataset.nodata; fig.dataset.state = "empty"; return; }
    const opts = C.options(lines.map((l) => ({ label: l.label, axis: l.axis || data.unit })), {
      width: Math.min(target.clientWidth || 600, 1100), height: 200, start: data.start, end: data.end,
      bands: data.bands, unit: data.unit,
    });
    plots[metric] = new uPlot(opts, C.columns(lines), target);
    target.uplot = plots[metric];  // for the browser tests: scales, series
    fig.dataset.state = "drawn";
  }
  function all() { return Promise.all([...box.querySelectorAll("figure.chart")].map(draw)); }
  document.getElementById("ranges").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-range]");
    if (!b) return;
    range = b.dataset.range; custom = null;
    for (const x of document.querySelectorAll("#ranges button")) x.classList.toggle("on", x === b);
    all();
  });
  const form = document.getElementById("custom-range");
  if (form) {
    const now = Math.floor(Date.now() / 1000);
    form.elements.from.value = C.vnInput(now - 3 * 3600);
    form.elements.to.value = C.vnInput(now);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const lo = C.vnEpoch(form.elements.from.value), hi = C.vnEpoch(form.elements.to.value);
      const out = document.getElementById("range-error");
      if (lo == null || hi == null || hi <= lo) { out.textContent = form.dataset.bad; return; }
      out.textContent = "";
      custom = [lo, hi];
      for (const x of document.querySelectorAll("#ranges button")) x.classList.remove("on");
      all();
    });
  }
  all().catch(() => { /* the stale banner says when the server is out of reach */ });
  T.live.onChange(() => (custom ? Promise.resolve() : all()));  // a new poll cycle or state: redraw (not a fixed past range)
})();
