// Typhoon map, offline: provinces, coast and neighbouring land (Natural Earth, shipped as
// /static/map-vn.json), approximate commune areas and official points from /api/map/communes, labels
// when zoomed in, the storm overlay in its own colours. Zoom and pan with the wheel, drag, the buttons
// or the keyboard (arrows, + and −); a click on a commune opens its page. The map is a view of the list
// beside it (data-list): it shows the rows the list shows, in the rows' status, and fits itself to them
// when the filter changes; an outlying island goes into an inset rather than squeezing the rest.
// Nothing on the map is in the tab order but the map itself and its buttons: the list is the
// accessible equivalent.
"use strict";
(function () {
  const box = document.querySelector("[data-map]");
  if (!box || !window.L) return;
  const T = window.Trucban;
  const en = (T && T.lang) === "en";
  const TXT = en ? {
    map: "Map of communes", help: "Arrow keys move the map, + and − zoom. The list of communes below holds the same information.",
    zoomIn: "Zoom in", zoomOut: "Zoom out", fit: "Fit the communes shown", approx: "approximate area",
    none: "No commune matches the filter", goTo: "Show on the main map", source: "Outline: Natural Earth (public domain) · commune areas approximate",
    storm: "Storm", track: "forecast track", wind: "wind radius", cone: "warning area", exposed: "on the storm's path",
    areas: "Commune area (approximate)", legend: "Legend", island: "Outlying island",
  } : {
    map: "Bản đồ các xã", help: "Phím mũi tên để di chuyển bản đồ, phím + và − để phóng to, thu nhỏ. Danh sách xã bên dưới có cùng thông tin.",
    zoomIn: "Phóng to", zoomOut: "Thu nhỏ", fit: "Vừa khung các xã đang hiển thị", approx: "vùng gần đúng",
    none: "Không có xã nào khớp bộ lọc", goTo: "Xem trên bản đồ chính", source: "Nền: Natural Earth (phạm vi công cộng) · vùng xã là ước lượng",
    storm: "Bão", track: "đường đi dự báo", wind: "bán kính gió", cone: "vùng cảnh báo", exposed: "trên đường đi của bão",
    areas: "Vùng xã (gần đúng)", legend: "Chú giải", island: "Đảo xa",
  };
  // the list's status words (coordinator: data-b; NOC: data-status) → one set of map classes
  const STATE = { up: "ok", ok: "ok", battery: "battery", degraded: "degraded", down: "down", isolated: "isolated",
                  unknown: "unknown", none: "unknown" };
  const PROBLEM = { isolated: 0, down: 1, battery: 2, degraded: 3, unknown: 4, ok: 5 };
  const cfg = {
    list: box.dataset.list || "",  // selector of the list body whose rows the map follows
    row: box.dataset.row || "k",  // row id = prefix + commune code
    attr: box.dataset.attr || "b",  // row data attribute holding the status (data-b, data-status)
    province: new URLSearchParams(location.search).get("province") || box.dataset.province || "",
  };
  const KM = 111.32;
  const LABELS_ALWAYS = 12;  // this few communes shown: names at any zoom

  // --- the map and its panes (each an SVG layer; nothing in them takes focus) ---
  const canvas = document.createElement("div");
  canvas.className = "tb-map-canvas";
  box.appendChild(canvas);
  const help = document.createElement("p");
  help.id = box.id + "-help"; help.className = "tb-sr"; help.textContent = TXT.help;
  box.appendChild(help);
  const map = L.map(canvas, {
    zoomControl: false, zoomSnap: 0.25, zoomDelta: 0.5, wheelPxPerZoomLevel: 90, minZoom: 4, maxZoom: 15,
    keyboard: true, keyboardPanDelta: 100, worldCopyJump: false, fadeAnimation: false,
  });
  canvas.setAttribute("role", "region");
  canvas.setAttribute("aria-label", TXT.map);
  canvas.setAttribute("aria-describedby", help.id);
  const panes = {};
  for (const [name, z] of [["land", 210], ["areas", 320], ["borders", 340], ["storm", 360], ["dots", 440], ["labels", 610]]) {
    map.createPane("tb-" + name).style.zIndex = z;
    panes[name] = name === "labels" ? null : L.svg({ pane: "tb-" + name, padding: 0.5 });
  }
  map.getPane("tb-labels").style.pointerEvents = "none";
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(TXT.source);
  L.control.zoom({ position: "topleft", zoomInTitle: TXT.zoomIn, zoomOutTitle: TXT.zoomOut }).addTo(map);
  const FitControl = L.Control.extend({
    onAdd() {
      const bar = L.DomUtil.create("div", "leaflet-bar tb-fit");
      const btn = L.DomUtil.create("button", "", bar);
      btn.type = "button"; btn.id = box.id + "-fit"; btn.title = TXT.fit; btn.setAttribute("aria-label", TXT.fit);
      btn.textContent = "⤢";
      L.DomEvent.disableClickPropagation(bar);
      L.DomEvent.on(btn, "click", () => fit(true));
      return bar;
    },
  });
  new FitControl({ position: "topleft" }).addTo(map);
  const empty = L.DomUtil.create("div", "tb-map-empty", box);
  empty.textContent = TXT.none; empty.hidden = true;

  const landLayer = L.layerGroup().addTo(map);
  const areaLayer = L.layerGroup().addTo(map);
  const stormLayer = L.layerGroup().addTo(map);
  const dotLayer = L.layerGroup().addTo(map);
  const labelLayer = L.layerGroup().addTo(map);
  if (box.dataset.tiles) {  // optional tile server (web.tile_url): under the outline, which then only strokes
    L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution || "", maxZoom: 18 }).addTo(map);
    box.classList.add("tb-tiles");
  }

  const communes = new Map();  // code → {info, area, dot, label, state, shown, exposed}
  let outline = null, storm = null, shownKey = null, fitZoom = null, insets = [];

  // --- the list beside the map ---
  function rowOf(code) { return document.getElementById(cfg.row + code); }
  function rowShown(row) {
    if (!row || row.hidden || row.closest("[hidden]")) return false;
    return getComputedStyle(row).display !== "none";
  }
  function readList() {
    const listed = cfg.list ? document.querySelector(cfg.list) : null;
    for (const [code, c] of communes) {
      const row = cfg.list ? rowOf(code) : null;
      c.shown = cfg.list ? (listed !== null && rowShown(row)) : true;
      c.state = STATE[row ? row.dataset[cfg.attr] : "unknown"] || "unknown";
      const cell = row && row.cells && row.cells[1];
      c.stateText = cell ? cell.innerText.trim().replace(/\s+/g, " ") : "";
    }
  }

  // --- drawing ---
  function classes(c, kind) {
    return "tb-" + kind + " st-" + c.state + (c.exposed ? " exposed" : "");
  }
  function setClass(layer, cls) {
    const el = layer && layer.getElement && layer.getElement();
    if (el) {
      el.setAttribute("class", "leaflet-interactive " + cls);
      // Chromium makes an SVG element with focus listeners (Leaflet's tooltips add them) tabbable:
      // the list is the keyboard's way to the communes, not 114 stops on the map
      el.setAttribute("tabindex", "-1");
    }
    if (layer && layer.eachLayer) layer.eachLayer((l) => setClass(l, cls));
  }
  function open(code) { location.assign("/communes/" + encodeURIComponent(code)); }
  function tip(c) { return c.info.name + (c.stateText ? " — " + c.stateText : ""); }
  const provinceLabels = [];
  function drawOutline(doc) {
    const focus = new Set([...communes.values()].map((c) => c.info.province_code));
    for (const f of doc.features) {
      const p = f.properties;
      if (p.label) {
        const text = document.createElement("span");
        text.textContent = p.name.replace(/^(Tỉnh|Thành phố) /, "");
        provinceLabels.push(L.marker([p.label[1], p.label[0]], {
          pane: "tb-labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "tb-plabel" + (p.kind === "foreign" ? " tb-abroad" : ""), html: text, iconSize: null }),
        }).addTo(labelLayer));
      }
      const kind = p.kind === "foreign" ? "tb-foreign" : focus.has(p.code) ? "tb-province tb-focus" : "tb-province";
      L.geoJSON(f, { pane: "tb-land", renderer: panes.land, interactive: false, style: () => ({ className: kind }) })
        .addTo(landLayer);
      if (focus.has(p.code)) {  // the province's own line again, above the commune areas
        L.geoJSON(f, { pane: "tb-borders", renderer: panes.borders, interactive: false, style: () => ({ className: "tb-border" }) })
          .addTo(landLayer);
      }
    }
  }
  function build(data) {
    for (const info of data.communes) {
      const c = { info, shown: false, state: "unknown", stateText: "", exposed: false };
      c.area = L.geoJSON(info.area, {
        pane: "tb-areas", renderer: panes.areas, style: () => ({ className: "tb-area" }),
      });
      c.area.bindTooltip(() => tip(c) + " (" + TXT.approx + ")", { sticky: true });
      c.area.on("click", () => open(info.code));
      c.dot = L.circleMarker([info.lat, info.lon], { pane: "tb-dots", renderer: panes.dots, radius: 5, className: "tb-dot" });
      c.dot.bindTooltip(() => tip(c), { direction: "top", offset: [0, -6] });
      c.dot.on("click", () => open(info.code));
      const text = document.createElement("span");
      text.textContent = info.name.replace(/^(Xã|Phường|Đặc khu) /, "");
      c.label = L.marker([info.lat, info.lon], {
        pane: "tb-labels", interactive: false, keyboard: false,
        icon: L.divIcon({ className: "tb-label", html: text, iconSize: null, iconAnchor: [-7, 9] }),
      });
      communes.set(info.code, c);
    }
  }
  function radius(c) {  // small on a whole-country view, full size from a province's view in
    const z = map.getZoom();
    const base = z < 7 ? 2.5 : z < 8.5 ? 4 : 5;
    return c.state === "ok" ? base : base + 2;
  }
  function paint() {
    const visible = [];
    for (const [code, c] of communes) {
      const want = c.shown;
      for (const [layer, group] of [[c.area, areaLayer], [c.dot, dotLayer]]) {
        if (want && !group.hasLayer(layer)) group.addLayer(layer);
        if (!want && group.hasLayer(layer)) group.removeLayer(layer);
      }
      if (!want && labelLayer.hasLayer(c.label)) labelLayer.removeLayer(c.label);
      if (!want) continue;
      visible.push(c);
      c.dot.setRadius(radius(c));
      setClass(c.area, classes(c, "area"));
      setClass(c.dot, classes(c, "dot"));
      for (const el of [c.dot.getElement()]) if (el) el.dataset.code = code;
      c.area.eachLayer((l) => { const el = l.getElement(); if (el) el.dataset.code = code; });
    }
    empty.hidden = visible.length > 0 || communes.size === 0;
    box.dataset.visible = String(visible.length);
    return visible;
  }

  // --- labels: names when zoomed in (problems first), none overlapping ---
  function placeLabels() {
    const visible = [...communes.values()].filter((c) => c.shown);
    const zoomedIn = fitZoom === null || map.getZoom() >= fitZoom + 0.75 || visible.length <= LABELS_ALWAYS;
    const view = map.getBounds().pad(0.1);  // names only where the eye is (a national map has 3,321 communes)
    const wanted = visible.filter((c) => (zoomedIn || c.state === "isolated" || c.state === "down")
                                         && view.contains([c.info.lat, c.info.lon]))
      .sort((a, b) => PROBLEM[a.state] - PROBLEM[b.state] || a.info.name.localeCompare(b.info.name, "vi"));
    const want = new Set(wanted);
    for (const c of visible) {
      if (!want.has(c) && labelLayer.hasLayer(c.label)) labelLayer.removeLayer(c.label);
    }
    for (const c of wanted) if (!labelLayer.hasLayer(c.label)) labelLayer.addLayer(c.label);
    const frame = canvas.getBoundingClientRect();
    const els = wanted.map((c) => c.label.getElement()).filter(Boolean);
    const names = provinceLabels.map((m) => m.getElement()).filter(Boolean);  // after the communes' names
    for (const el of [...els, ...names]) el.classList.remove("tb-hide");
    for (const el of names) {  // a province's name centred on its label point (measured once)
      if (!el.dataset.centred && el.offsetWidth) {
        el.style.marginLeft = -el.offsetWidth / 2 + "px"; el.style.marginTop = -el.offsetHeight / 2 + "px";
        el.dataset.centred = "1";
      }
    }
    const rects = [...els, ...names].map((el) => el.getBoundingClientRect());  // one layout for all
    const placed = [];
    [...els, ...names].forEach((el, i) => {
      const r = rects[i];
      const outside = r.left < frame.left || r.right > frame.right || r.top < frame.top || r.bottom > frame.bottom;
      const hit = placed.some((p) => r.left < p.right + 2 && r.right > p.left - 2 && r.top < p.bottom + 1 && r.bottom > p.top - 1);
      if (outside || hit) el.classList.add("tb-hide"); else placed.push(r);
    });
    box.dataset.labels = String(els.filter((el) => !el.classList.contains("tb-hide")).length);
  }

  // --- fit: the communes in view, an outlying island in an inset ---
  function km(a, b) {
    const k = Math.cos(((a.lat + b.lat) / 2) * Math.PI / 180);
    return Math.hypot((a.lon - b.lon) * k, a.lat - b.lat) * KM;
  }
  function clusters(items) {  // single linkage: communes closer than `reach` km belong together
    if (items.length < 3) return [items];
    const lats = items.map((c) => c.info.lat), lons = items.map((c) => c.info.lon);
    const diag = km({ lat: Math.min(...lats), lon: Math.min(...lons) }, { lat: Math.max(...lats), lon: Math.max(...lons) });
    const reach = Math.max(20, diag * 0.2);
    const group = items.map((_, i) => i);
    const root = (i) => { while (group[i] !== i) i = group[i] = group[group[i]]; return i; };
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        if (root(i) !== root(j) && km(items[i].info, items[j].info) <= reach) group[root(i)] = root(j);
      }
    }
    const out = new Map();
    items.forEach((c, i) => { const r = root(i); if (!out.has(r)) out.set(r, []); out.get(r).push(c); });
    return [...out.values()].sort((a, b) => b.length - a.length);
  }
  function boundsOf(items) {
    const b = L.latLngBounds([]);
    for (const c of items) { b.extend(c.area.getBounds()); b.extend([c.info.lat, c.info.lon]); }
    return b;
  }
  function spread(b) { return km({ lat: b.getSouth(), lon: b.getWest() }, { lat: b.getNorth(), lon: b.getEast() }); }
  function fit(animate) {
    const visible = [...communes.values()].filter((c) => c.shown);
    const items = visible.length ? visible : [...communes.values()];
    for (const inset of insets) inset.remove();
    insets = [];
    if (!items.length) return;
    const groups = clusters(items);
    let main = groups[0], apart = groups.slice(1);
    const whole = boundsOf(items), core = boundsOf(main);
    // an outlying group gets an inset when the whole view would be much wider than the core (at most 3 insets)
    if (!apart.length || apart.length > 3 || spread(whole) < spread(core) * 1.6) { main = items; apart = []; }
    let target = apart.length ? core : whole;
    if (main.length <= 3) target = target.pad(0.6);  // one commune: with the land around it
    insets = apart.map((g) => inset(g, core));
    const pad = { paddingTopLeft: L.point(18, 18), paddingBottomRight: L.point(18, 18), maxZoom: 13, animate: !!animate };
    if (insets.length) {  // keep the insets (top right) off the communes: room on the side the view has to spare
      const room = insets.reduce((r, i) => {
        const el = i.getContainer();
        return { w: Math.max(r.w, el.offsetWidth), h: r.h + el.offsetHeight + 10 };
      }, { w: 0, h: 0 });
      const size = map.getSize();
      const a = map.project(target.getNorthWest(), 10), b = map.project(target.getSouthEast(), 10);
      if ((b.x - a.x) / Math.max(b.y - a.y, 1) < size.x / size.y) pad.paddingBottomRight = L.point(room.w + 24, 18);
      else pad.paddingTopLeft = L.point(18, room.h + 18);
    }
    map.fitBounds(target, pad);
    fitZoom = map.getZoom();
    box.dataset.insets = apart.map((g) => g.map((c) => c.info.code).join(" ")).join(",");
    box.dataset.fitted = String(Date.now());
  }
  const COMPASS = en ? ["N", "NE", "E", "SE", "S", "SW", "W", "NW"] : ["B", "ĐB", "Đ", "ĐN", "N", "TN", "T", "TB"];
  function away(from, to) {  // "~110 km ĐN": how far and which way an inset lies from the main view
    const k = Math.cos(from.lat * Math.PI / 180);
    const deg = (Math.atan2((to.lng - from.lng) * k, to.lat - from.lat) * 180 / Math.PI + 360) % 360;
    return "~" + Math.round(km({ lat: from.lat, lon: from.lng }, { lat: to.lat, lon: to.lng })) + " km " + COMPASS[Math.round(deg / 45) % 8];
  }
  function inset(group, core) {
    const Inset = L.Control.extend({
      onAdd() {
        const div = L.DomUtil.create("div", "tb-inset");
        const names = group.map((c) => c.info.name).join(", ");
        const btn = L.DomUtil.create("button", "tb-inset-go", div);
        btn.type = "button";
        btn.textContent = group.map((c) => c.info.name.replace(/^(Xã|Phường|Đặc khu) /, "")).join(", ")
          + " · " + away(core.getCenter(), boundsOf(group).getCenter());
        btn.title = TXT.island + ": " + names + " — " + TXT.goTo;
        const mini = L.DomUtil.create("div", "tb-inset-map", div);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        const m = L.map(mini, { zoomControl: false, attributionControl: false, dragging: false, scrollWheelZoom: false,
                                doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false });
        setTimeout(() => {
          m.invalidateSize();
          m.fitBounds(boundsOf(group), { padding: [10, 10], maxZoom: 10, animate: false });
          if (outline) L.geoJSON(outline, { interactive: false, style: (f) => ({ className: f.properties.kind === "foreign" ? "tb-foreign" : "tb-province tb-focus" }) }).addTo(m);
          for (const c of group) {
            const area = L.geoJSON(c.info.area).on("click", () => open(c.info.code)).addTo(m);
            const dot = L.circleMarker([c.info.lat, c.info.lon], { radius: 6 })
              .bindTooltip(tip(c)).on("click", () => open(c.info.code)).addTo(m);
            setClass(area, classes(c, "area"));
            setClass(dot, classes(c, "dot"));
            const el = dot.getElement(); if (el) el.dataset.code = c.info.code;
          }
        }, 0);
        L.DomEvent.on(btn, "click", () => map.flyToBounds(boundsOf(group), { padding: [30, 30], maxZoom: 11, duration: 0.8 }));
        div.dataset.codes = group.map((c) => c.info.code).join(" ");
        return div;
      },
    });
    return new Inset({ position: "topright" }).addTo(map);
  }

  // --- storm overlay (its own blues, never a status colour) ---
  function drawStorm() {
    stormLayer.clearLayers();
    const exposed = new Set(storm ? storm.exposure.map((e) => e.code) : []);
    for (const [code, c] of communes) c.exposed = exposed.has(code);
    box.classList.toggle("tb-has-storm", !!storm);
    if (!storm || !storm.overlay) return;
    L.geoJSON(storm.overlay, {
      pane: "tb-storm", renderer: panes.storm, interactive: false,
      style: (f) => ({ className: "storm-" + (f.geometry.type === "LineString" ? "track" : f.properties.kind) }),
      pointToLayer: (f, at) => L.circleMarker(at, { pane: "tb-storm", renderer: panes.storm, radius: 4, className: "storm-fix", interactive: false }),
    }).addTo(stormLayer);
  }
  async function loadStorm() {
    try { storm = await T.getJSON("/api/storms/current"); } catch (e) { storm = null; }  // no desk, no storm
    if (storm) {
      try { storm.overlay = await T.getJSON("/api/storms/" + storm.id + "/overlay"); } catch (e) { storm.overlay = null; }
    }
    drawStorm();
    sync(false);
  }
  function legend() {
    const Legend = L.Control.extend({
      onAdd() {
        const div = L.DomUtil.create("div", "tb-legend");
        div.setAttribute("aria-hidden", "true");  // the page's legend and the list say the same in text
        const row = (cls, text) => { const p = L.DomUtil.create("span", "tb-key", div); L.DomUtil.create("i", cls, p); p.append(text); };
        row("k-area", TXT.areas);
        row("k-track", TXT.storm + ": " + TXT.track);
        row("k-wind", TXT.wind);
        row("k-cone", TXT.cone);
        row("k-exposed", TXT.exposed);
        return div;
      },
    });
    new Legend({ position: "bottomright" }).addTo(map);
  }

  // --- following the list ---
  let pending = false;
  function sync(refit) {
    readList();
    paint();
    const key = [...communes.values()].filter((c) => c.shown).map((c) => c.info.code).join(",");
    if (refit || key !== shownKey) { shownKey = key; fit(!refit && fitZoom !== null); }
    placeLabels();
  }
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; sync(false); });
  }
  function watchList() {
    const scope = document.querySelector("main") || document.body;
    new MutationObserver((records) => {
      if (records.some((r) => !box.contains(r.target))) schedule();
    }).observe(scope, { subtree: true, childList: true, attributes: true,
                        attributeFilter: ["hidden", "class", "style", "data-" + cfg.attr] });
  }
  function report() {
    const c = map.getCenter();
    box.dataset.zoom = map.getZoom().toFixed(2);
    box.dataset.center = c.lat.toFixed(4) + "," + c.lng.toFixed(4);
  }
  map.on("movestart zoomstart", () => { box.dataset.moving = "yes"; });
  map.on("zoomend moveend", () => { box.dataset.moving = ""; report(); placeLabels(); });
  map.on("zoomend", () => { for (const c of communes.values()) if (c.shown) c.dot.setRadius(radius(c)); });
  const fold = box.closest("details");
  if (fold) {
    if (window.matchMedia("(max-width: 700px)").matches && box.dataset.fold === "phone") fold.open = false;
    fold.addEventListener("toggle", () => { if (fold.open) { map.invalidateSize(); fit(false); } });
  }

  async function start() {
    map.setView([16, 106], 5);
    const q = cfg.province ? "?province=" + encodeURIComponent(cfg.province) : "";
    const [base, data] = await Promise.all([T.getJSON("/static/map-vn.json"), T.getJSON("/api/map/communes" + q)]);
    if (!data) return;
    outline = base;
    build(data);
    drawOutline(base);
    legend();
    sync(true);
    report();
    box.dataset.state = "drawn";
    watchList();
    loadStorm();
  }
  start().catch((e) => { box.dataset.state = "failed"; console.error(e); });
  window.TrucbanMap = { map, fit: () => fit(false), communes };
})();
