// Shared helpers: JSON fetch with the session cookie, CSRF header for writes, language.
"use strict";
window.Trucban = (function () {
  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (res.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(location.pathname); return null; }
    if (!res.ok) throw new Error(url + ": " + res.status);
    return res.json();
  }
  function every(seconds, fn) {
    const run = () => { if (!document.hidden) fn().catch(() => { /* weak link: next tick */ }); };
    run();
    return setInterval(run, seconds * 1000);
  }
  const lang = document.documentElement.lang || "vi";
  function num(v, digits) {
    if (v === null || v === undefined) return "";
    return Number(v).toLocaleString(lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: digits || 0 });
  }
  return { cookie, getJSON, every, num, lang, refresh: Number(document.body.dataset.refresh || 5) };
})();
