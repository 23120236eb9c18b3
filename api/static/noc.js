// NOC overview: refresh commune rows and counters from the JSON API without reloading.
"use strict";
(function () {
  const T = window.Trucban;
  const table = document.getElementById("communes");
  const labels = JSON.parse(table.dataset.labels);
  function setText(id, v) { const el = document.getElementById(id); if (el) el.textContent = v; }
  async function tick() {
    const [communes, states] = await Promise.all([T.getJSON("/api/communes?limit=5000"), T.getJSON("/api/states")]);
    if (!communes || !states) return;
    for (const c of communes) {
      const row = document.getElementById("c-" + c.code);
      if (!row) continue;
      const d = c.devices;
      row.dataset.status = c.status;
      const badge = row.querySelector(".badge");
      badge.className = "badge " + c.status;
      badge.textContent = labels[c.status] || c.status_label;
      row.querySelector(".num").textContent = (d.up + d.degraded) + "/" +
        (d.up + d.degraded + d.down + d.unreachable + d.maintenance + d.unknown);
      row.querySelector(".problems").textContent = c.problem_devices.join(", ");
    }
    setText("n-up", T.num(states.devices.up || 0));
    setText("n-down", T.num(states.devices.down || 0));
    setText("n-unreachable", T.num(states.devices.unreachable || 0));
    setText("n-backup", states.communes_on_backup.length);
    setText("n-isolated", states.communes_isolated.length);
    setText("n-battery", states.bts_on_battery.length);
    const sev = Object.entries(states.incidents_by_severity).map(([k, v]) => k + ": " + v).join(" · ");
    setText("n-sev", sev || "—");
  }
  T.every(T.refresh, tick);
})();
