// The desk's live-metrics widget: an EventSource on the console's relay of
// the Metrics service's /live-metrics stream ("MetricTick" events). One row
// per service instance, sorted by name: a status dot, CPU % and memory MB
// with a sparkline of the last 10 points (the original kept 20, drew 10).
(function () {
  const box = document.getElementById("live-metrics");
  if (!box || typeof EventSource !== "function") return;
  const body = box.querySelector("tbody");
  const conn = document.getElementById("metrics-conn");
  const series = new Map(); // key name/instance -> {tick, cpu: [], mem: []}
  const keep = 20, draw = 10;

  function spark(values, max) {
    const pts = values.slice(-draw);
    if (pts.length < 2) return "";
    const w = 60, h = 16;
    const path = pts.map((v, i) => (i * w / (draw - 1)).toFixed(1) + "," + (h - Math.min(v / max, 1) * h).toFixed(1)).join(" ");
    return '<svg class="spark" width="' + w + '" height="' + h + '"><polyline fill="none" stroke="currentColor" points="' + path + '"/></svg>';
  }

  function text(s) {
    const d = document.createElement("span");
    d.textContent = s;
    return d.innerHTML;
  }

  function render() {
    const keys = Array.from(series.keys()).sort();
    body.innerHTML = keys.map((k) => {
      const s = series.get(k), t = s.tick, m = t.metrics || {};
      const total = (m.memory && m.memory.total) || 1;
      const status = String(t.status || "Unknown");
      return '<tr class="metric" data-service="' + text(k) + '">' +
        '<td><span class="dot ' + text(status.toLowerCase()) + '" title="' + text(status) + '"></span> ' + text(k) + '</td>' +
        '<td>' + (m.cpu ? m.cpu.usage.toFixed(1) : "?") + " " + spark(s.cpu, 100) + '</td>' +
        '<td>' + (m.memory ? m.memory.used.toFixed(0) : "?") + " " + spark(s.mem, total) + '</td>' +
        '<td class="muted">' + text(new Date(t.lastChecked).toLocaleTimeString()) + '</td></tr>';
    }).join("");
  }

  const es = new EventSource(box.dataset.src);
  es.onopen = () => { conn.textContent = "connected"; conn.className = "ok"; };
  es.onerror = () => { conn.textContent = "disconnected, retrying…"; conn.className = "error"; };
  es.addEventListener("MetricTick", (ev) => {
    let t;
    try { t = JSON.parse(ev.data); } catch (e) { return; }
    const k = t.name + (t.instance ? "/" + t.instance : "");
    const s = series.get(k) || { cpu: [], mem: [] };
    s.tick = t;
    s.cpu.push(t.metrics && t.metrics.cpu ? t.metrics.cpu.usage : 0);
    s.mem.push(t.metrics && t.metrics.memory ? t.metrics.memory.used : 0);
    if (s.cpu.length > keep) { s.cpu.shift(); s.mem.shift(); }
    series.set(k, s);
    box.dataset.ticks = String((Number(box.dataset.ticks) || 0) + 1);
    render();
  });
  window.addEventListener("pagehide", () => es.close());
})();
