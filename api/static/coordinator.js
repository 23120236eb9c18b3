// Coordinator view: a sortable, filterable list refreshed from /api/coordinator without reloading, and
// the storm panel; the map beside it (map.js) follows the list.
"use strict";
(function () {
  const T = window.Trucban;
  const table = document.getElementById("coord");
  const tbody = table.tBodies[0];
  const ORDER = { isolated: 0, down: 1, battery: 2, unknown: 3, up: 4, none: 5 };
  let sortKey = "bts";

  function rows() { return [...tbody.rows]; }
  // Storm panel: the newest imported forecast and the communes on its path (map.js draws the overlay).
  let storm = null;
  function showStorm() {
    const box = document.getElementById("storm");
    if (!storm) { box.hidden = true; return; }
    box.hidden = false;
    document.getElementById("storm-name").textContent = storm.name;
    document.getElementById("storm-status").textContent = storm.status === "proposed" ? "(đề xuất, chờ xác nhận)"
      : storm.status === "confirmed" ? "(đã công bố chế độ bão)" : "(" + storm.status + ")";
    document.getElementById("storm-summary").textContent = storm.exposure.length + " xã/phường nằm trên đường đi của bão";
    const list = document.getElementById("storm-exposed");
    list.textContent = "";
    for (const e of storm.exposure) {
      const li = document.createElement("li");
      const eta = new Date(e.eta_utc).toLocaleString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit" });
      li.textContent = e.name + " — " + eta + " — " + e.wind_class + " (" + e.via + ")";
      li.dataset.code = e.code;
      list.appendChild(li);
      const row = document.getElementById("k" + e.code);
      if (row) row.classList.add("exposed");
    }
    const btn = document.getElementById("storm-confirm");
    btn.hidden = !(storm.status === "proposed" && box.dataset.canConfirm);
    btn.textContent = "Xác nhận chế độ bão cho " + storm.exposure.length + " xã/phường này";  // names how many
  }
  async function loadStorm() {
    try {
      storm = await T.getJSON("/api/storms/current");
    } catch (e) { storm = null; }
    showStorm();
  }
  document.getElementById("storm-confirm").addEventListener("click", async () => {
    const n = storm.exposure.length;  // a typhoon mode for n communes is no one-click decision
    if (!window.confirm("Công bố chế độ bão " + storm.name + " cho " + n + " xã/phường? Ngưỡng cảnh báo và tin nhắn của " + n + " xã/phường này sẽ chuyển sang chế độ bão.")) return;
    const res = await fetch("/api/storms/" + storm.id + "/confirm", { method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": T.cookie("tb_csrf") } });
    if (res.ok) { storm = await res.json(); showStorm(); }
  });
  function applyFilter() {
    const q = document.getElementById("q").value.trim().toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
    const b = document.getElementById("bts-filter").value;
    for (const row of rows()) {
      const name = row.cells[0].textContent.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
      row.hidden = (q && !name.includes(q)) || (b && row.dataset.b !== b);
    }
  }
  function sortRows() {
    const key = (r) => sortKey === "name" ? r.cells[0].textContent
      : sortKey === "min" ? (r.dataset.m ? +r.dataset.m : 1e9) : ORDER[r.dataset.b] * 1e6 + (r.dataset.m ? +r.dataset.m : 1e5);
    const rs = rows().sort((a, b) => { const x = key(a), y = key(b); return x < y ? -1 : x > y ? 1 : 0; });
    for (const r of rs) tbody.appendChild(r);
  }
  async function refresh() {
    const prov = new URLSearchParams(location.search).get("province");
    const data = await T.getJSON("/api/coordinator?limit=5000" + (prov ? "&province=" + encodeURIComponent(prov) : ""));
    if (!data) return;
    let moved = false;
    for (const c of data) {
      const row = document.getElementById("k" + c.code);
      if (!row) continue;
      if (row.dataset.b !== c.bts) moved = true;
      row.dataset.b = c.bts;
      row.dataset.m = c.minutes_left == null ? "" : c.minutes_left;
      row.cells[1].textContent = c.bts_label;
      row.cells[2].textContent = c.minutes_left == null ? "" : T.num(c.minutes_left);
      row.cells[3].textContent = c.connectivity_label || c.connectivity;
      row.classList.toggle("storm", c.storm);
    }
    if (moved) { sortRows(); applyFilter(); }
    document.getElementById("updated").textContent = new Date().toLocaleTimeString(T.lang === "en" ? "en-GB" : "vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
  }
  table.tHead.addEventListener("click", (e) => {
    const th = e.target.closest("th[data-sort]");
    if (th) { sortKey = th.dataset.sort; sortRows(); }
  });
  document.getElementById("q").addEventListener("input", applyFilter);
  document.getElementById("bts-filter").addEventListener("change", applyFilter);
  sortRows();
  loadStorm();
  refresh().catch(() => { /* the stale banner says when the server is out of reach */ });
  T.live.onChange(refresh);  // the live channel says when the rows changed
  T.live.onMessage((d) => { document.getElementById("updated").textContent = T.localTime(d.ts); });
})();
