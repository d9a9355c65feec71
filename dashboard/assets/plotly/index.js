// What NiceGUI's `ui.plotly` imports as "nicegui-plotly" (dashboard/components/theme.py
// points that module here): a stand-in that loads the chart library only when a chart
// first comes near the screen, and then only the small bundle with the trace types we
// draw (plotly-charts.min.js, see build.sh). A page whose charts are never scrolled to
// never downloads it; a chart's calls wait, in order, until it is loaded.
let library = null;
const load = () => (library ??= import("./plotly-charts.min.js").then((m) => m.Plotly));

const visible = (el) =>
  new Promise((resolve) => {
    const watch = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          watch.disconnect();
          resolve();
        }
      },
      { rootMargin: "300px" },
    );
    watch.observe(el);
  });

const chains = new WeakMap();
const later = (el, call) => {
  const before = chains.get(el) || visible(el).then(load);
  const result = before.then(call);
  chains.set(
    el,
    result.then(load, load),
  );
  return result;
};

const base = {
  newPlot(el, ...args) {
    // NiceGUI attaches its event forwarders right after newPlot; keep them for the real one.
    const pending = [];
    if (typeof el.on !== "function") el.on = (name, handler) => pending.push([name, handler]);
    return later(el, async (Plotly) => {
      const result = await Plotly.newPlot(el, ...args);
      for (const [name, handler] of pending) el.on(name, handler);
      return result;
    });
  },
  Plots: {
    resize(el) {
      if (chains.has(el) && library) return later(el, (Plotly) => Plotly.Plots.resize(el));
      return undefined;
    },
  },
};

export const Plotly = new Proxy(base, {
  get(target, name) {
    if (name in target) return target[name];
    return (el, ...args) => later(el, (Plotly) => Plotly[name](el, ...args));
  },
});
