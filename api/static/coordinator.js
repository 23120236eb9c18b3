// Coordinator view: a plain SVG map (no internet needed) or tiles when configured, plus a
// sortable, filterable list; refreshed from /api/coordinator without reloading.
"use strict";
(function () {
  const T = window.Trucban;
  const table = document.getElementById("coord");
  const tbody = table.tBodies[0];
  const mapBox = document.getElementById("map");
  const svg = document.getElementById("plain-map");
  const NS = "http://www.w3.org/2000/svg";
  const ORDER = { isolated: 0, down: 1, battery: 2, unknown: 3, up: 4, none: 5 };
  let sortKey = "bts", leafletLayer = null;

  function rows() { return [...tbody.rows]; }
  function project(rs) {
    const ys = rs.map((r) => +r.dataset.y), xs = rs.map((r) => +r.dataset.x);
    const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
    const k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
    const w = Math.max((maxX - minX) * k, 0.01), h = Math.max(maxY - minY, 0.01);
    const pad = 0.05 * Math.max(w, h);
    svg.setAttribute("viewBox", `${-pad} ${-pad} ${w + 2 * pad} ${h + 2 * pad}`);
    const r = Math.max(w, h) / 160;
    const xy = (lon, lat) => [(lon - minX) * k, maxY - lat];
    return { r, xy, at: (row) => xy(+row.dataset.x, +row.dataset.y) };
  }
  function drawPlain() {
    const rs = rows();
    if (!rs.length) return;
    const p = project(rs);
    svg.textContent = "";
    for (const row of rs) {
      const [cx, cy] = p.at(row);
      const a = document.createElementNS(NS, "a");
      a.setAttribute("href", row.querySelector("a").getAttribute("href"));
      const c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", cx); c.setAttribute("cy", cy);
      c.setAttribute("r", row.dataset.b === "up" ? p.r : p.r * 1.6);
      c.setAttribute("class", row.dataset.b);
      c.id = "p" + row.id.slice(1);
      const title = document.createElementNS(NS, "title");
      title.textContent = row.cells[0].textContent + " — " + row.cells[1].textContent;
      c.appendChild(title); a.appendChild(c); svg.appendChild(a);
    }
    drawStorm(p);
  }
  // Storm overlay: the newest imported forecast (track, wind radii, cone/warning areas).
  let storm = null;
  let exposed = new Set();
  function ring(p, coords) { return coords.map(([lon, lat]) => p.xy(lon, lat).join(",")).join(" "); }
  function drawStorm(p) {
    if (!storm || !p) return;
    const g = document.createElementNS(NS, "g");
    g.id = "storm-overlay";
    for (const f of (storm.overlay || { features: [] }).features) {
      const geom = f.geometry, kind = f.properties.kind;
      const polys = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
      for (const poly of polys) {
        const el = document.createElementNS(NS, "polygon");
        el.setAttribute("points", ring(p, poly[0]));
        el.setAttribute("class", "storm-" + kind);
        g.appendChild(el);
      }
      if (geom.type === "LineString") {
        const el = document.createElementNS(NS, "polyline");
        el.setAttribute("points", ring(p, geom.coordinates));
        el.setAttribute("class", "storm-track");
        g.appendChild(el);
      } else if (geom.type === "Point") {
        const [cx, cy] = p.xy(geom.coordinates[0], geom.coordinates[1]);
        const el = document.createElementNS(NS, "circle");
        el.setAttribute("cx", cx); el.setAttribute("cy", cy); el.setAttribute("r", p.r * 1.2);
        el.setAttribute("class", "storm-fix");
        g.appendChild(el);
      }
    }
    svg.insertBefore(g, svg.firstChild);
    for (const e of storm.exposure) {
      const dot = document.getElementById("p" + e.code);
      if (dot) dot.classList.add("exposed");
    }
  }
  function showStorm() {
    const box = document.getElementById("storm");
    exposed = new Set(storm ? storm.exposure.map((e) => e.code) : []);
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
    if (storm) {  // the overlay has its own route (bounded GeoJSON); storm answers carry none
      try {
        storm.overlay = (await T.getJSON("/api/storms/" + storm.id + "/overlay")) || { features: [] };
      } catch (e) { storm.overlay = { features: [] }; }
    }
    showStorm();
    drawPlain();
    drawLeaflet();
  }
  document.getElementById("storm-confirm").addEventListener("click", async () => {
    const n = storm.exposure.length;  // a typhoon mode for n communes is no one-click decision
    if (!window.confirm("Công bố chế độ bão " + storm.name + " cho " + n + " xã/phường? Ngưỡng cảnh báo và tin nhắn của " + n + " xã/phường này sẽ chuyển sang chế độ bão.")) return;
    const res = await fetch("/api/storms/" + storm.id + "/confirm", { method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": T.cookie("tb_csrf") } });
    if (res.ok) { const overlay = storm.overlay; storm = await res.json(); storm.overlay = overlay; showStorm(); }
  });
  function tryTiles() {
    const url = mapBox.dataset.tiles;
    if (!url) return;
    const css = document.createElement("link");
    css.rel = "stylesheet"; css.href = "/static/vendor/leaflet/leaflet.css";
    document.head.appendChild(css);
    const s = document.createElement("script");
    s.src = "/static/vendor/leaflet/leaflet.js";
    s.onload = () => {
      const div = document.createElement("div");
      div.className = "leaflet"; div.style.visibility = "hidden";
      mapBox.appendChild(div);
      const map = L.map(div, { preferCanvas: true });
      const layer = L.tileLayer(url, { attribution: mapBox.dataset.attribution, maxZoom: 18 });
      layer.once("tileload", () => { div.style.visibility = "visible"; svg.style.display = "none"; });
      layer.addTo(map);
      leafletLayer = L.layerGroup().addTo(map);
      const rs = rows();
      map.fitBounds(rs.map((r) => [+r.dataset.y, +r.dataset.x]));
      drawLeaflet();
    };
    document.body.appendChild(s);
  }
  function drawLeaflet() {
    if (!leafletLayer) return;
    leafletLayer.clearLayers();
    if (storm && storm.overlay) L.geoJSON(storm.overlay, { style: { color: "#5b2a86", weight: 1, fillOpacity: 0.08 } }).addTo(leafletLayer);
    for (const row of rows()) {
      L.circleMarker([+row.dataset.y, +row.dataset.x], { radius: 6, className: row.dataset.b })
        .bindTooltip(row.cells[0].textContent + " — " + row.cells[1].textContent).addTo(leafletLayer);
    }
  }
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
      const dot = document.getElementById("p" + c.code);
      if (dot) dot.setAttribute("class", c.bts + (exposed.has(c.code) ? " exposed" : ""));
    }
    if (moved) { drawPlain(); drawLeaflet(); sortRows(); applyFilter(); }
    document.getElementById("updated").textContent = new Date().toLocaleTimeString(T.lang === "en" ? "en-GB" : "vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
  }
  table.tHead.addEventListener("click", (e) => {
    const th = e.target.closest("th[data-sort]");
    if (th) { sortKey = th.dataset.sort; sortRows(); }
  });
  document.getElementById("q").addEventListener("input", applyFilter);
  document.getElementById("bts-filter").addEventListener("change", applyFilter);
  sortRows();
  drawPlain();
  tryTiles();
  loadStorm();
  refresh().catch(() => { /* the stale banner says when the server is out of reach */ });
  T.live.onChange(refresh);  // the live channel says when the rows changed
  T.live.onMessage((d) => { document.getElementById("updated").textContent = T.localTime(d.ts); });
})();
