// Samplers: one trajectory per sampler from the same start noise at the chosen budget of network
// calls, on a common progress slider, beside the converged image (DDIM with many steps); then where
// each final differs from it, and a chart of that distance against network calls, one line per
// sampler. Slider position p of 0..P shows step steps_at[sampler][budget][p]: the figure data
// carries that table (the build computes it once, in Python).
(function (NTI) {
  "use strict";
  const svg = NTI.svg;

  // Distance to the converged image against network calls (log scale), one line per sampler for
  // the seed on screen; a ring marks the current budget. Each sampler has its own colour and dash
  // (lessons.css), and a legend names them.
  function distanceChart(model) {
    const W = 320, H = 170, pad = { l: 36, r: 10, t: 8, b: 30 };
    const values = model.seeds.flatMap((s) => model.samplers.flatMap((k) => model.budgets.map((b) => s.finals[k.kind][b].distance)));
    const yTicks = NTI.niceTicks(Math.max(1e-9, ...values), 4);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-samplers-chart", role: "img",
      "aria-label": `Distance of each sampler's final image to the converged image (DDIM, ${model.reference} steps), against network calls` });
    const { X, Y } = NTI.logAxes(root, { W, H, pad, xs: model.budgets, yTicks,
      xLabel: "network calls (log scale)", yLabel: "distance to converged" });
    const lines = model.samplers.map((k) => { const line = svg("polyline", { class: `nti-sampler-line nti-sampler-${k.kind}` }); root.append(line); return line; });
    const rings = model.samplers.map((k) => { const ring = svg("circle", { r: 3.5, class: `nti-sampler-dot nti-sampler-${k.kind}` }); root.append(ring); return ring; });
    const legend = NTI.el("p", { class: "nti-legend nti-sampler-legend" }, model.samplers.map((k) =>
      NTI.el("span", { class: `nti-sampler-key nti-sampler-${k.kind}`, text: k.name })));
    return {
      el: NTI.el("div", { class: "nti-samplers-chart-wrap" }, [root, legend]),
      show(seedIndex, budget) {
        const finals = model.seeds[seedIndex].finals;
        model.samplers.forEach((k, i) => {
          lines[i].setAttribute("points", model.budgets.map((b) => `${X(b)},${Y(finals[k.kind][b].distance)}`).join(" "));
          rings[i].setAttribute("cx", X(budget));
          rings[i].setAttribute("cy", Y(finals[k.kind][budget].distance));
        });
      },
    };
  }

  NTI.figures.samplers = {
    layout: { perRow: [6, 3] }, // five samplers and the converged image; three a row on a phone
    create(body, model, shell) {
      let seed = 0, budgetIndex = Math.min(2, model.budgets.length - 1);
      const P = model.positions;
      const budget = () => model.budgets[budgetIndex];
      const live = model.samplers.map((k) => ({ k, panel: NTI.panel(k.name, "nti-track") }));
      const converged = NTI.panel(`converged\nDDIM ${model.reference} steps`);
      const diffs = model.samplers.map((k) => ({ k, panel: NTI.panel(k.name) }));
      const info = NTI.el("p", { class: "nti-info", "aria-live": "polite" });
      const summary = NTI.el("p", { class: "nti-info nti-samplers-summary" });
      const chart = distanceChart(model);
      function drawFinals() {
        const s = model.seeds[seed], b = budget();
        converged.draw(model, s.reference);
        for (const { k, panel } of diffs) {
          const final = s.finals[k.kind][b];
          panel.draw(model, final.diff);
          panel.setCaption(`${k.name}\n${NTI.fmt(final.distance, 1)}`);
        }
        summary.textContent = `Seed ${s.seed}, ${b} network calls, distance of each final to the converged image: ` +
          model.samplers.map((k) => `${k.name} ${NTI.fmt(s.finals[k.kind][b].distance, 1)}`).join(", ");
        chart.show(seed, b);
      }
      function draw(position) {
        const s = model.seeds[seed], b = budget();
        const parts = [];
        for (const { k, panel } of live) {
          const n = model.steps[k.kind][b], i = model.steps_at[k.kind][b][position];
          panel.draw(model, s.tracks[k.kind][b][i]);
          panel.setCaption(`${k.name}\n${n} step${n === 1 ? "" : "s"}`);
          parts.push(`${k.name}: step ${i} of ${n}`);
        }
        info.textContent = `progress ${Math.round((100 * position) / P)}% (${parts.join(", ")})`;
      }
      const slider = NTI.Slider({ label: "Progress through sampling", min: 0, max: P, value: 0,
        text: (p) => `${Math.round((100 * p) / P)}% of the way`, onChange: draw });
      const budgets = NTI.Slider({ label: "Network calls per sampler", min: 0, max: model.budgets.length - 1, value: budgetIndex,
        text: (i) => `${model.budgets[i]} calls`, onChange: (i) => { budgetIndex = i; draw(slider.value); drawFinals(); } });
      const stride = Math.max(1, Math.round(P / 60));
      const player = NTI.Player({ shell, interval: 80, tick: () => slider.set(slider.value >= P ? 0 : Math.min(P, slider.value + stride)) });
      const controls = NTI.el("div", { class: "nti-controls" }, [slider.el, player.el, budgets.el]);
      const picker = NTI.SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); drawFinals(); });
      const colours = NTI.ColorBar({ max: model.diff_scale, label: "|final − converged|", vertical: true });
      body.append(NTI.el("div", { class: "nti-panels" }, [...live.map((t) => t.panel.el), converged.el]), info, controls,
        NTI.el("p", { class: "nti-subhead", text: "Where each final differs from the converged image" }),
        NTI.el("div", { class: "nti-panels nti-diffs" }, [...diffs.map((t) => t.panel.el), colours.el]),
        summary, chart.el);
      draw(0);
      drawFinals();
      return {
        focus: () => seed,
        getState: () => ({ progress: slider.value / P, seed, budget: budgetIndex }),
        setState(state) {
          if (state.seed !== undefined && state.seed < model.seeds.length) { seed = state.seed; if (picker) picker.set(seed); }
          if (state.budget !== undefined) budgets.set(Math.max(0, Math.min(model.budgets.length - 1, state.budget)));
          if (state.progress !== undefined) slider.set(NTI.fromFraction(state.progress, P));
          draw(slider.value);
          drawFinals();
        },
      };
    },
  };
})(window.NTI);
