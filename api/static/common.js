// Shared helpers: JSON fetch with the session cookie, CSRF header for writes, language — and the live
// channel: server-sent events from /api/live tell every page when what it shows has changed (it then
// refreshes its live regions in place), raise the tab-title count of open critical incidents, and a
// banner says when no word came from the server for twice the refresh period.
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
    const run = () => { if (!document.hidden) fn().catch(() => { /* weak link: the stale banner says so */ }); };
    run();
    return setInterval(run, seconds * 1000);
  }
  const lang = document.documentElement.lang || "vi";
  function num(v, digits) {
    if (v === null || v === undefined) return "";
    return Number(v).toLocaleString(lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: digits || 0 });
  }
  const refresh = Number(document.body.dataset.refresh || 5);
  const clock = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  function localTime(epoch) { return clock.format(new Date(epoch * 1000)); }

  // Live regions: elements with data-live and an id are replaced by their fresh copy from the same URL.
  async function swapRegions() {
    const regions = document.querySelectorAll("[data-live][id]");
    if (!regions.length) return;
    const res = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    if (res.redirected && new URL(res.url).pathname === "/login") { location.href = res.url; return; }
    if (!res.ok) throw new Error(location.pathname + ": " + res.status);
    const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const el of regions) {
      const next = fresh.getElementById(el.id);
      if (next && next.outerHTML !== el.outerHTML) el.replaceWith(document.importNode(next, true));
    }
  }

  const STALE_SLACK_S = 5;  // a cycle's polls take a few seconds after its start
  const live = (function () {
    const handlers = [swapRegions];
    const listeners = [];
    const title = document.title;
    const stale = document.getElementById("stale");
    let version = null, lastAt = Date.now(), lastTs = null, critical = null, source = null, retry = null;

    function alertsOn() { return localStorage.getItem("tb_alerts") === "1"; }
    function beep() {
      try {
        const ctx = new (window.AudioContext || window.webkitAudioContext)();
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = 880; gain.gain.value = 0.15;
        osc.connect(gain); gain.connect(ctx.destination);
        osc.start(); osc.stop(ctx.currentTime + 0.4);
      } catch (e) { /* no audio here */ }
    }
    function announce(n, added) {
      if (!alertsOn()) return;
      beep();
      if ("Notification" in window && Notification.permission === "granted") {
        const text = lang === "en" ? added + " new critical incident(s), " + n + " open"
                                   : added + " sự cố khẩn cấp mới, " + n + " đang mở";
        new Notification(lang === "en" ? "Trucban" : "Trực ban", { body: text, tag: "trucban-critical" });
      }
    }
    function why(reason) {  // which of the banner's two texts is true now
      for (const el of stale.querySelectorAll("[data-why]")) el.hidden = el.dataset.why !== reason;
    }
    function message(event) {
      const data = JSON.parse(event.data);
      lastAt = Date.now(); lastTs = data.ts;
      // the server answers, but its newest poll is older than two poll intervals: the data is stale
      const behind = data.cycle_ts && data.poll_s && data.ts - data.cycle_ts > 2 * data.poll_s + STALE_SLACK_S;
      if (stale && behind) {
        why("old");
        stale.querySelector("time").textContent = localTime(data.cycle_ts);
        stale.hidden = false;
        document.body.dataset.live = "old";
      } else {
        if (stale) stale.hidden = true;
        document.body.dataset.live = "on";
      }
      if (critical !== null && data.critical > critical) announce(data.critical, data.critical - critical);
      critical = data.critical;
      document.title = (critical > 0 ? "(" + critical + ") " : "") + title;
      for (const fn of listeners) fn(data);
      if (version !== null && data.v !== version) {
        for (const fn of handlers) fn(data).catch(() => { /* the next change, or the stale banner */ });
      }
      version = data.v;
    }
    function connect() {
      if (!window.EventSource) return;
      source = new EventSource("/api/live");
      source.addEventListener("state", message);
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED && retry === null) {  // an HTTP error: try again later
          retry = setTimeout(() => { retry = null; connect(); }, Math.max(1000, refresh * 500));
        }
      };
    }
    function watch() {
      if (!stale || Date.now() - lastAt <= 2 * refresh * 1000) return;
      if (stale.hidden || document.body.dataset.live === "old") {
        why("lost");
        stale.querySelector("time").textContent = lastTs === null ? "—" : localTime(lastTs);
        stale.hidden = false;
        document.body.dataset.live = "stale";
        document.body.dataset.silentMs = String(Date.now() - lastAt);  // how long nothing came when it showed
      }
    }
    connect();
    setInterval(watch, 250);
    const toggle = document.getElementById("alerts-toggle");
    if (toggle) {
      toggle.setAttribute("aria-pressed", alertsOn() ? "true" : "false");
      toggle.addEventListener("click", () => {
        const on = !alertsOn();
        localStorage.setItem("tb_alerts", on ? "1" : "0");
        toggle.setAttribute("aria-pressed", on ? "true" : "false");
        if (on && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
      });
    }
    return {
      onChange(fn) { handlers.push(fn); },  // fn(data) → Promise: what this page redraws on a change
      onMessage(fn) { listeners.push(fn); },  // every message, heartbeats included
    };
  })();
  return { cookie, getJSON, every, num, lang, refresh, localTime, live };
})();
