// The entry of plotly-charts.min.js (see build.sh): plotly.js core and the three trace
// types the overview draws. Registering only these keeps the bundle small.
import Plotly from "plotly.js/lib/core";
import bar from "plotly.js/lib/bar";
import funnel from "plotly.js/lib/funnel";
import heatmap from "plotly.js/lib/heatmap";

Plotly.register([bar, funnel, heatmap]);

export { Plotly };
