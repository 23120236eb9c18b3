// NOC commune list, problems first: the filters act at once, live in the URL (a filtered view is a link to
// share) and survive the live refresh, which fetches the page's own URL. Search ignores diacritics
// ("hong bang" finds "Hồng Bàng"), as the server does.
"use strict";
(function () {
  const form = document.getElementById("noc-filters");
  if (!form) return;
  const fold = (s) => s.toLowerCase().replace(/đ/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "");

  function filters() {
    const f = {};
    for (const [k, v] of new FormData(form)) if (v !== "") f[k] = String(v).trim();
    return f;
  }
  function matches(row, f) {
    const d = row.dataset;
    if (f.province && d.province !== f.province) return false;
    if (f.commune && row.id !== "c-" + f.commune) return false;
    if (f.status && d.status !== f.status) return false;
    if (f.problems && d.status === "ok") return false;
    if (f.role && !(f.problems ? d.proles : d.roles).split(" ").includes(f.role)) return false;
    if (f.q) for (const word of fold(f.q).split(/\s+/)) if (word && !d.key.includes(word)) return false;
    return true;
  }
  function apply() {
    const f = filters();
    const rows = document.querySelectorAll("#commune-rows tr");
    let shown = 0;
    for (const row of rows) { row.hidden = !matches(row, f); if (!row.hidden) shown += 1; }
    const none = document.getElementById("noc-none");
    if (none) none.hidden = shown > 0;
    const count = document.getElementById("noc-count");
    if (count) count.querySelector(".n").textContent = shown + "/" + rows.length;
    const query = new URLSearchParams(f).toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", (e) => { e.preventDefault(); apply(); });
  document.getElementById("noc-clear").addEventListener("click", (e) => {
    e.preventDefault();
    form.reset();
    for (const el of form.elements) { if (el.type === "checkbox") el.checked = false; else if (el.name) el.value = ""; }
    apply();
  });
  const submit = form.querySelector("button.nojs");
  if (submit) submit.hidden = true;  // filters act as they change
})();
