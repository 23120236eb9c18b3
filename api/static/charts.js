// Charts that do not lie (uPlot, vendored): Vietnamese date/time on the axes and in the legend
// (dd/MM HH:mm, Asia/Ho_Chi_Minh; never "11/26/26 2:27am"), percent axes fixed to 0–100, one axis per
// unit (minutes apart from percent), a poll that got no answer drawn as a gap, incidents and
// maintenance windows shaded as bands.
"use strict";
window.TrucbanCharts = (function () {
  const TZ = "Asia/Ho_Chi_Minh";
  const lang = document.documentElement.lang || "vi";
  const locale = lang === "en" ? "en-GB" : "vi-VN";
  const fmt = (opts) => new Intl.DateTimeFormat(locale, { timeZone: TZ, hour12: false, ...opts });
  const HM = fmt({ hour: "2-digit", minute: "2-digit" });
  const DM = fmt({ day: "2-digit", month: "2-digit" });
  const DMHM = fmt({ day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
  const FULL = fmt({ day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const COLORS = ["#0b57d0", "#c62828", "#1a7f37", "#8a5a00", "#6a1b9a", "#00838f", "#5d4037", "#455a64"];
  const BAND = { incident: "rgba(198, 40, 40, 0.16)", maintenance: "rgba(11, 87, 208, 0.14)" };

  function when(ts) { return FULL.format(new Date(ts * 1000)); }
  // x-axis labels: hours within a day, day and hour over a few days, days beyond
  function xValues(u, splits) {
    const span = u.scales.x.max - u.scales.x.min;
    const f = span <= 86400 ? HM : span <= 4 * 86400 ? DMHM : DM;
    return splits.map((ts) => f.format(new Date(ts * 1000)));
  }
  function number(v, digits) {
    return v == null ? "—" : Number(v).toLocaleString(locale, { maximumFractionDigits: digits == null ? 1 : digits });
  }
  // Shade [start, end] stretches behind the lines.
  function bandsPlugin(bands) {
    return {
      hooks: {
        drawClear: [(u) => {
          const ctx = u.ctx, { top, height } = u.bbox;
          ctx.save();
          for (const b of bands) {
            const x0 = Math.max(u.bbox.left, u.valToPos(b.start, "x", true));
            const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(b.end, "x", true));
            if (x1 <= x0) continue;
            ctx.fillStyle = BAND[b.kind] || BAND.incident;
            ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
          }
          ctx.restore();
        }],
      },
    };
  }
  /**
   * uPlot options for lines that each carry the unit of their axis.
   * lines: [{label, axis}], o: {width, height, start, end, bands, xLabel}
   */
  function options(lines, o) {
    const units = [...new Set(lines.map((l) => l.axis || o.unit || ""))];
    const scales = { x: { time: true, range: [o.start, o.end] } };
    const axes = [{ values: xValues, label: o.xLabel || "" }];
    units.forEach((unit, i) => {
      const key = unit || "y";
      scales[key] = unit === "%" ? { range: [0, 100] } : { range: (u, min, max) => [Math.min(0, min ?? 0), max == null ? 1 : max * 1.1 || 1] };
      axes.push({ scale: key, label: unit, side: i === 0 ? 3 : 1, grid: { show: i === 0 }, values: (u, vals) => vals.map((v) => number(v, unit === "%" ? 0 : 1)) });
    });
    return {
      width: o.width, height: o.height || 200,
      scales,
      axes,
      series: [
        { label: lang === "en" ? "Time" : "Thời gian", value: (u, ts) => (ts == null ? "—" : when(ts)) },
        ...lines.map((l, i) => ({
          label: l.label + (l.axis ? " (" + l.axis + ")" : ""), scale: l.axis || o.unit || "y",
          stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false, points: { show: false },
          value: (u, v) => number(v, 1),
        })),
      ],
      plugins: o.bands && o.bands.length ? [bandsPlugin(o.bands)] : [],
    };
  }
  // Columns for uPlot from lines of [ts, value|null] points (null stays null: a gap).
  function columns(lines) {
    const times = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const cols = lines.map((l) => {
      const c = new Array(times.length).fill(undefined);
      for (const [t, v] of l.points) c[index.get(t)] = v;  // null: no answer (gap); undefined: no sample
      return c;
    });
    return [times, ...cols];
  }
  // 'YYYY-MM-DDTHH:MM' typed on the Vietnamese clock (UTC+7, no daylight saving) → epoch seconds
  function vnEpoch(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
    if (!m) return null;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) / 1000 - 7 * 3600;
  }
  function vnInput(epoch) {
    const d = new Date((epoch + 7 * 3600) * 1000);
    return d.toISOString().slice(0, 16);
  }
  return { options, columns, when, vnEpoch, vnInput, number, BAND };
})();
