// Refresh commune rows from /api/communes without reloading the page.
"use strict";
(function () {
  const PERIOD_MS = 5000;
  function render(communes) {
    let bad = 0;
    for (const c of communes) {
      const row = document.getElementById("c-" + c.code);
      if (!row) continue;
      const d = c.devices;
      if (c.status === "down" || c.status === "isolated") bad += 1;
      row.dataset.status = c.status;
      const badge = row.querySelector(".badge");
      badge.className = "badge " + c.status;
      badge.textContent = c.status_label;
      row.querySelector(".num").textContent = (d.up + d.degraded) + "/" + (d.up + d.degraded + d.down + d.unreachable + d.maintenance + d.unknown);
      row.querySelector(".problems").textContent = c.problem_devices.join(", ");
    }
    document.getElementById("summary").textContent =
      communes.length + " xã/phường/đặc khu, " + bad + " đang có sự cố";
  }
  async function tick() {
    try {
      const res = await fetch("/api/communes", { headers: { Accept: "application/json" } });
      if (res.ok) render(await res.json());
      const p = await fetch("/api/poller");
      if (p.ok) {
        const s = await p.json();
        if (s.started_utc) {
          document.getElementById("poller").textContent =
            s.devices + " thiết bị, " + s.ok + " trả lời, " + s.duration_s + " giây";
        }
      }
    } catch (e) { /* weak link: try again next tick */ }
  }
  tick();
  setInterval(tick, PERIOD_MS);
})();
