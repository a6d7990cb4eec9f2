// Step counts: one trajectory per step count side by side on a common progress slider, and the
// final images compared. Slider position p of 0..P shows step floor(p*n/P + 1/2) of an n-step run.
(function (NTI) {
  "use strict";
  NTI.progressIndex = (position, positions, steps) => Math.floor((2 * position * steps + positions) / (2 * positions));

  NTI.figures.step_counts = {
    create(body, model, shell) {
      let seed = 0;
      const P = model.positions;
      const live = model.counts.map((n) => ({ n, panel: NTI.panel(`${n} steps`, "nti-track") }));
      const finals = model.counts.map((n) => ({ n, panel: NTI.panel(`final, ${n} steps`) }));
      const info = NTI.el("p", { class: "nti-info", "aria-live": "polite" });
      function draw(position) {
        const tracks = model.seeds[seed].tracks;
        const parts = [];
        for (const { n, panel } of live) {
          const i = NTI.progressIndex(position, P, n);
          panel.draw(model, tracks[n][i]);
          parts.push(`${n} steps: step ${i}`);
        }
        for (const { n, panel } of finals) panel.draw(model, tracks[n][n]);
        info.textContent = `progress ${Math.round((100 * position) / P)}% (${parts.join(", ")})`;
      }
      const slider = NTI.Slider({ label: "Progress through sampling", min: 0, max: P, value: 0,
        text: (p) => `${Math.round((100 * p) / P)}% of the way`, onChange: draw });
      const stride = Math.max(1, Math.round(P / 60));
      const player = NTI.Player({ shell, interval: 80, tick: () => slider.set(slider.value >= P ? 0 : Math.min(P, slider.value + stride)) });
      const controls = NTI.el("div", { class: "nti-controls" }, [slider.el, player.el]);
      const picker = NTI.SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
      body.append(NTI.el("div", { class: "nti-panels" }, live.map((t) => t.panel.el)), info, controls,
        NTI.el("p", { class: "nti-subhead", text: "Final images" }), NTI.el("div", { class: "nti-panels nti-finals" }, finals.map((t) => t.panel.el)));
      draw(0);
      return {
        focus: () => seed,
        getState: () => ({ progress: slider.value / P, seed }),
        setState(state) {
          if (state.seed !== undefined && state.seed < model.seeds.length) { seed = state.seed; if (picker) picker.set(seed); draw(slider.value); }
          if (state.progress !== undefined) slider.set(NTI.fromFraction(state.progress, P));
        },
      };
    },
  };
})(window.NTI);
