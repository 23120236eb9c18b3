// Duty-officer screens, every page: the navigation as a menu on a phone, sortable headers reachable by
// keyboard (a button in each, with aria-sort), the map folded under the list on a phone.
"use strict";
(function () {
  const toggle = document.getElementById("menu-toggle");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = !nav.classList.contains("open");
      nav.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && nav.classList.contains("open")) { nav.classList.remove("open"); toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
    });
  }

  // Sortable headers: a real button inside each th[data-sort] (Enter/Space sort, focus shows).
  for (const th of document.querySelectorAll("th[data-sort]")) {
    if (th.querySelector("button.sort")) continue;
    const b = document.createElement("button");
    b.type = "button"; b.className = "sort";
    while (th.firstChild) b.appendChild(th.firstChild);
    th.appendChild(b);
    th.setAttribute("aria-sort", "none");
    b.addEventListener("click", () => {
      for (const other of th.closest("tr").querySelectorAll("th[data-sort]")) other.setAttribute("aria-sort", "none");
      th.setAttribute("aria-sort", "ascending");
    });
  }

  // On a phone the coordinator's map folds under the list (open it to see the map).
  const map = document.getElementById("map");
  if (map && window.matchMedia("(max-width: 640px)").matches && !map.closest("details")) {
    const fold = document.createElement("details");
    fold.className = "map-fold fold";
    const summary = document.createElement("summary");
    summary.textContent = document.documentElement.lang === "en" ? "Map" : "Bản đồ";
    fold.appendChild(summary);
    map.before(fold);
    fold.appendChild(map);
    fold.addEventListener("toggle", () => window.dispatchEvent(new Event("resize")));
  }
})();
