// The topology graph: Cytoscape.js over /topology/graph.json, refreshed
// every 2 s in place (positions come from the server, so nothing moves).
(function () {
  const el = document.getElementById("graph");
  if (!el || typeof cytoscape !== "function") return;
  const cy = cytoscape({
    container: el,
    layout: { name: "preset" },
    userZoomingEnabled: false,
    style: [
      { selector: "node", style: { "label": "data(label)", "shape": "round-rectangle", "width": 170, "height": 44,
        "text-wrap": "wrap", "text-valign": "center", "font-size": 11, "background-color": "#dfe8f7", "border-width": 1, "border-color": "#4a78c2" } },
      { selector: "node.broker", style: { "background-color": "#f3e8ff", "border-color": "#7b3fb8", "height": 60 } },
      { selector: "node.queue", style: { "background-color": "#f1f3f5", "border-color": "#888", "height": 36 } },
      { selector: "node.queue.busy", style: { "border-color": "#a15c00", "border-width": 2 } },
      { selector: "node.faulted", style: { "background-color": "#ffe3d3", "border-color": "#d9480f", "border-width": 3 } },
      { selector: "node.down", style: { "background-color": "#fde2e2", "border-color": "#b00020", "border-style": "dashed" } },
      { selector: "edge", style: { "width": 1.5, "line-color": "#9aa7b8", "target-arrow-shape": "triangle", "target-arrow-color": "#9aa7b8", "curve-style": "bezier", "label": "data(label)", "font-size": 9, "color": "#46505e", "text-background-color": "#ffffff", "text-background-opacity": 0.8 } },
    ],
  });
  window.topologyGraph = cy;
  // A click on a service, a hop or the broker opens the inject form of the
  // fault class that acts on it.
  cy.on("tap", "node", (evt) => {
    const href = evt.target.data("href");
    if (href) window.location.href = href;
  });
  async function refresh() {
    try {
      const r = await fetch("/topology/graph.json", { cache: "no-store" });
      if (!r.ok) return;
      cy.json({ elements: await r.json() });
      cy.fit(undefined, 20);
      el.dataset.refreshed = String(Date.now());
    } catch (e) { /* the lab may be stopping; the next tick retries */ }
  }
  refresh();
  setInterval(refresh, 2000);
})();
