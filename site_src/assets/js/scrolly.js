// Scrollytelling: each text step (.nti-step with a data-state) that reaches the middle of the
// viewport moves its section's figure to that state, unless the reader has taken over the controls.
(function (NTI) {
  "use strict";
  // Narrow screens put the figure above the text (see figures.css), so the text is read lower down.
  const NARROW = window.matchMedia("(max-width: 76.25em)");

  NTI.scrolly = function (section, controller) {
    const steps = Array.from(section.querySelectorAll(".nti-step[data-state]"));
    if (!steps.length || !("IntersectionObserver" in window)) return () => {};
    let active = null;
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        steps.forEach((step) => step.classList.toggle("nti-step-active", step === entry.target));
        // a step change (not the step in view at load) means the reader is here: load the rest
        if (active && active !== entry.target) controller.engage();
        active = entry.target;
        if (controller.userControlled) continue;
        try { controller.setState(JSON.parse(entry.target.dataset.state)); } catch (error) { console.error(error); }
      }
    }, { rootMargin: NARROW.matches ? "-68% 0px -22% 0px" : "-45% 0px -45% 0px" });
    steps.forEach((step) => observer.observe(step));
    return () => observer.disconnect();
  };
})(window.NTI);
