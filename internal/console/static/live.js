// The Live page's charts: an EventSource on /live/stream ("series" events,
// the whole window each time) drawn by uPlot, the console's faults as red
// bands across every chart (grey: the injection failed). window.liveState
// holds the last series and how many bands each chart drew.
(function () {
  const status = document.getElementById("live-status");
  if (!status || typeof uPlot !== "function" || typeof EventSource !== "function") return;
  const state = { series: null, drawn: {}, messages: 0 };
  window.liveState = state;

  // bands draws the fault bands under a chart's series.
  function bands(name) {
    return (u) => {
      const s = state.series;
      let n = 0;
      if (!s) return;
      const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      const left = u.bbox.left, right = u.bbox.left + u.bbox.width;
      ctx.save();
      for (const b of s.bands || []) {
        const x0 = Math.max(left, u.valToPos(b.from, "x", true));
        const x1 = Math.min(right, u.valToPos(b.to || s.now, "x", true));
        if (x1 < left || x0 > right) continue;
        ctx.fillStyle = b.failed ? "rgba(120,120,120,0.2)" : "rgba(229,57,53,0.18)";
        ctx.fillRect(x0, top, Math.max(2, x1 - x0), h);
        ctx.fillStyle = b.failed ? "#666" : "#c62828";
        ctx.font = (11 * devicePixelRatio) + "px system-ui, sans-serif";
        // The label reads inside the plot: right-aligned at a band near its end.
        const near = right - x0 < ctx.measureText(b.label).width + 6;
        ctx.textAlign = near ? "right" : "left";
        ctx.fillText(b.label, near ? right - 3 : x0 + 3, top + (12 + 13 * n) * devicePixelRatio);
        n++;
      }
      ctx.restore();
      state.drawn[name] = n;
    };
  }

  function chart(id, name, series) {
    const el = document.getElementById(id);
    const opts = {
      width: 440, height: 200,
      series: [{}].concat(series),
      axes: [{}, { size: 60 }],
      hooks: { drawClear: [bands(name)] },
    };
    return new uPlot(opts, [[]].concat(series.map(() => [])), el);
  }

  const charts = {
    throughput: chart("chart-throughput", "throughput", [{ label: "handled/s", stroke: "#1565c0", width: 1.5 }]),
    latency: chart("chart-latency", "latency", [
      { label: "median ms", stroke: "#26a69a", width: 1.5, spanGaps: false },
      { label: "max ms", stroke: "#6a1b9a", width: 1.5, spanGaps: false },
    ]),
    depth: chart("chart-depth", "depth", [
      { label: "ready", stroke: "#ef6c00", width: 1.5 },
      { label: "unacked", stroke: "#c62828", width: 1.5 },
    ]),
  };
  window.liveCharts = charts;

  const es = new EventSource("/live/stream");
  es.onerror = () => { status.textContent = "disconnected, retrying…"; status.className = "error"; };
  es.addEventListener("series", (ev) => {
    let s;
    try { s = JSON.parse(ev.data); } catch (e) { return; }
    state.series = s;
    state.messages++;
    charts.throughput.setData([s.x, s.handled]);
    charts.latency.setData([s.x, s.p50, s.max]);
    const dx = s.depthX && s.depthX.length ? s.depthX : [s.now];
    charts.depth.setData([dx, s.ready && s.ready.length ? s.ready : [null], s.unacked && s.unacked.length ? s.unacked : [null]]);
    // Keep the depth chart on the same time window as the others.
    if (s.x.length) charts.depth.setScale("x", { min: s.x[0], max: s.now });
    status.dataset.spans = String(s.spans);
    status.className = s.error ? "error" : "muted";
    status.textContent = (s.error ? s.error + " · " : "") + s.spans + " spans read · " + (s.bands || []).length + " faults in the window";
  });
  window.addEventListener("pagehide", () => es.close());
})();
